export const HELP = `omnichannel-simulate: send Dotdigital-style webhook deliveries to a deployment and check them

Usage: omnichannel-simulate [options]        (or: npm run simulate -- [options])

Target
  --url <base>              deployment base URL; deliveries go to <base>/webhook   [http://127.0.0.1:3000]
  --secret <secret>         webhook secret (better: the SIMULATOR_SECRET environment variable)

Workload
  --events <n>              distinct events to generate                           [1000]
  --api-spaces <a,b,...>    API spaces the events belong to         [simulator-space-a,simulator-space-b]
  --account-id <n>          accountId of every envelope                           [40213]
  --click-share <0..1>      share of interaction.click events (no revision)       [0.1]
  --profile-share <0..1>    share of profile.update events (id = e-mail)          [0.1]
  --family-share <0..1>     share of chat, chatMessage, conversation,             [0.1]
                            conversationMessage, presence and facebook events
  --message-id-share <0..1> share of messages named by the undocumented payload.messageId
                            instead of payload.id                                 [0.05]
  --repeat-share <0..1>     share of events sent again in a later delivery        [0.1]
  --batch-share <0..1>      share of events sent in batches (JSON arrays)         [0.7]
  --batch-size <1..500>     largest batch                                         [100]
  --seed <n>                reproduce a run's shuffles and shares (ids are always fresh)

Sending
  --concurrency <n>         requests in flight at once                            [8]
  --rate <n>                requests per second at most                           [unlimited]
  --timeout <duration>      time to answer, as Dotdigital's (never scaled)        [10s]
  --time-scale <f>          multiplies the retry waits (5s ... 4h, about 24 h)    [1]
  --on-401 <drop|retry>     what Dotdigital does with a 401 (not documented):     [drop]
                            drop it (the data is gone) or retry it like a 5xx

Checks (the verdict always covers the answers; each check adds to it)
  --check-database <url>    PostgreSQL URL: every acknowledged event stored once with its payload,
                            every entity at its highest acknowledged revision
  --check-admin <base>      the same through the operations API (/admin), with
  --admin-key <key>         its bearer key (better: SIMULATOR_ADMIN_KEY)
  --check-feed <amqp url>   every acknowledged event published on <prefix>.events
  --feed-prefix <prefix>    the deployment's AMQP_PREFIX                          [omnichannel]
  --settle-timeout <dur>    how long the checks wait for storage to catch up      [60s]

Output
  --ledger <file.json>      write every delivery, attempt and event to a file
  --json                    print the verdict as JSON instead of a table
  --quiet                   no progress lines on stderr
  -h, --help                this text

Durations: 500ms, 10s, 2m, 1h, or a bare number of seconds.
Exit code: 0 balanced, 1 not balanced, 2 bad options or a check that could not be prepared.
`;
