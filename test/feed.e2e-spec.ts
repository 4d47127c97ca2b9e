import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source.options';
import { FeedOutbox, type ReplayRange } from '../src/events/feed-outbox';
import { runReplayCli } from '../src/feed/replay.cli';
import { startApp, type TestApp } from './support/app';
import { Db } from './support/db';
import { DirectPublisher } from './support/direct-publish';
import { uniquePrefix } from './support/env';
import { eventCounts } from './support/event-metrics';
import {
  appliedState,
  expectedHeaders,
  outboxDrained,
  postAll,
  revisionWalkMismatches,
  shuffledStream,
  storedEvents,
  storedState,
  type StoredEvent,
} from './support/feed-checks';
import { FeedQueue, type FeedCopy } from './support/feed-queue';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { SINGLE_FIXTURES, envelope, fixture, postWebhook } from './support/signing';

/*
 * The downstream feed against the real RabbitMQ and PostgreSQL: what a consumer bound
 * to `<prefix>.events` with `#` receives. Every describe has its own database, AMQP prefix and
 * consumer queue. "Nothing else arrived" is proven with a sentinel: an event stored after the
 * thing under test; the relay publishes the outbox in position order, so anything the earlier
 * thing had produced would have arrived before the sentinel.
 */

const ROOT = join(__dirname, '..');
const byId = (rows: StoredEvent[]) => new Map(rows.map((row) => [row.event_id, row]));

/** POSTs one signed body, expects 200 and the given answer; returns the delivery id. */
async function deliver(url: string, body: Buffer | string, accepted: number, quarantined = 0) {
  const res = await postWebhook(url, body);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ accepted, quarantined });
  return res.headers.get('x-delivery-id')!;
}

/** Posts one fresh event and waits until it is on the feed; everything stored before it is published by then. */
async function sentinel(url: string, feed: FeedQueue): Promise<string> {
  const event = envelope({ eventId: `sentinel-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await deliver(url, JSON.stringify(event), 1);
  await feed.waitForAll([event.eventId as string], 30000, 'sentinel');
  return event.eventId as string;
}

const copiesOf = (feed: FeedQueue, eventId: string) => feed.copies.filter((copy) => copy.eventId === eventId);

describe('the feed: contract of every published event (APP_ROLE=all)', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let feed: FeedQueue;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_contract');
    const prefix = uniquePrefix('feed');
    feed = await FeedQueue.bind(prefix);
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, AMQP_PREFIX: prefix });
    db = await Db.connect(scratch.url);
  });

  afterAll(async () => {
    await app?.close();
    await feed?.deleteWithTopology();
    await db?.close();
    await scratch?.drop();
  });

  it('publishes every fixture once: the envelope as stored, message_id, routing key and every header of §7', async () => {
    const deliveries = new Map<string, string>();
    const windows = new Map<string, [number, number]>();
    const post = async (eventId: string, body: Buffer | string) => {
      const before = Date.now();
      deliveries.set(eventId, await deliver(app.url, body, 1));
      windows.set(eventId, [before, Date.now()]);
    };
    for (const name of SINGLE_FIXTURES) {
      const bytes = fixture(name);
      await post((JSON.parse(bytes.toString('utf8')) as { eventId: string }).eventId, bytes);
    }
    // What the fixtures lack: no API space and no entity id; an entity but no revision; a revision
    // beyond 2^53 (its header is its exact decimal text).
    const bare = {
      eventId: `bare-${Date.now()}`,
      name: 'interaction.view',
      payload: { url: 'https://example.com' },
    };
    const unrevised = envelope({ revision: undefined, name: 'message.inbound' });
    const huge = envelope({ name: 'message.sent' });
    const hugeText = JSON.stringify({ ...huge, revision: '__r__' }).replace('"__r__"', '9007199254740993');
    await post(bare.eventId, JSON.stringify(bare));
    await post(unrevised.eventId as string, JSON.stringify(unrevised));
    await post(huge.eventId as string, hugeText);
    const ids = [...deliveries.keys()];
    await feed.waitForAll(ids);

    const rows = await storedEvents(db);
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) {
      const copies = copiesOf(feed, row.event_id);
      expect(copies).toHaveLength(1);
      const [copy] = copies;
      expect(copy.routingKey).toBe(`${row.outcome}.${row.name}`);
      expect(copy.body).toEqual(row.payload);
      expect(copy.properties).toMatchObject({
        messageId: row.event_id,
        contentType: 'application/json',
        deliveryMode: 2,
        timestamp: Math.floor(row.received_at.getTime() / 1000),
      });
      // Exactly these headers: toStrictEqual fails on an extra one and on one that should be absent.
      expect(copy.headers).toStrictEqual(expectedHeaders(row));
      expect(copy.headers['x-delivery-id']).toBe(deliveries.get(row.event_id));
      const [before, after] = windows.get(row.event_id)!;
      const receivedAt = Date.parse(copy.headers['x-received-at'] as string);
      expect(receivedAt).toBeGreaterThanOrEqual(before);
      expect(receivedAt).toBeLessThanOrEqual(after);
    }

    // A few of them spelled out rather than derived from the row.
    const read = copiesOf(feed, '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e03')[0];
    expect(read.routingKey).toBe('applied.message.read');
    expect(read.headers).toMatchObject({
      'x-event-name': 'message.read',
      'x-outcome': 'applied',
      'x-entity-type': 'message',
      'x-entity-id': '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8',
      'x-revision': 3,
      'x-api-space-id': '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10',
    });
    expect(read.body).toEqual(JSON.parse(fixture('message.read.json').toString('utf8')));
    const bareCopy = copiesOf(feed, bare.eventId)[0];
    expect(bareCopy.routingKey).toBe('untracked.interaction.view');
    expect(Object.keys(bareCopy.headers).sort()).toEqual([
      'x-delivery-id',
      'x-entity-type',
      'x-event-id',
      'x-event-name',
      'x-outcome',
      'x-received-at',
    ]);
    expect(copiesOf(feed, unrevised.eventId as string)[0].headers).not.toHaveProperty('x-revision');
    expect(copiesOf(feed, unrevised.eventId as string)[0].routingKey).toBe('untracked.message.inbound');
    // A long on the wire (exact there: feed-header-types.e2e-spec.ts); amqplib makes it a JavaScript number.
    expect(copiesOf(feed, huge.eventId as string)[0].headers['x-revision']).toBe(Number('9007199254740993'));
    await outboxDrained(db);
    // webhook_feed_published_total counts exactly what was confirmed, by outcome.
    const published = ['applied', 'stale', 'untracked'].map(
      (outcome) =>
        `webhook_feed_published_total{outcome="${outcome}"} ${rows.filter((row) => row.outcome === outcome).length}\n`,
    );
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${app.url}/metrics`)).text();
        return published.every((line) => text.includes(line)) ? text : null;
      },
      { what: `${published.join(', ')}` },
    );
    expect(metrics).toMatch(/^webhook_feed_relay_active 1$/m);
  });

  it('publishes nothing more for a repeated eventId, nothing for a quarantined item', async () => {
    const before = feed.copies.length;
    const duplicatesBefore = (await eventCounts(app.app)).duplicate;
    // A repeat of a stored event (a new delivery of the same bytes), and a batch that repeats its own
    // first item, has an item without eventId (quarantined before storage) and one PostgreSQL refuses
    // (nested too deep for jsonb: quarantined by the event-by-event path, which also feeds the outbox).
    await deliver(app.url, fixture('message.sent.json'), 1);
    const good = envelope();
    const later = envelope();
    const refused = envelope({ payload: '__deep__' });
    const deepJson = `${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}`;
    const batch = JSON.stringify([good, { name: 'message.sent', payload: {} }, good, refused, later]).replace(
      '"__deep__"',
      deepJson,
    );
    const batchDelivery = await deliver(app.url, batch, 4, 1);
    const last = await sentinel(app.url, feed);

    const arrived = feed.copies.slice(before).map((copy) => copy.eventId);
    expect(arrived).toEqual([good.eventId, later.eventId, last]);
    expect((await eventCounts(app.app)).duplicate - duplicatesBefore).toBe(2);
    const quarantined = await db.rows<{ item_index: number; reason: string }>(
      'SELECT item_index, reason FROM quarantined_deliveries WHERE delivery_id = $1 ORDER BY item_index',
      [batchDelivery],
    );
    expect(quarantined.map((row) => row.item_index)).toEqual([1, 3]);
    expect(quarantined[1].reason).toMatch(/^storage failed: /);
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', [refused.eventId])).toBe(
      0,
    );
    await outboxDrained(db);
  });
});

describe('the feed with FEED_ENABLED=false', () => {
  let scratch: ScratchDatabase;
  let db: Db;
  let feed: FeedQueue;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_off');
    db = await Db.connect(scratch.url);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await feed?.deleteWithTopology();
    await db?.close();
    await scratch?.drop();
  });

  it('writes no outbox row, starts no relay and publishes nothing', async () => {
    const prefix = uniquePrefix('feedoff');
    feed = await FeedQueue.bind(prefix);
    const off = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      AMQP_PREFIX: prefix,
      FEED_ENABLED: 'false',
    });
    apps.push(off);
    for (const name of SINGLE_FIXTURES) await deliver(off.url, fixture(name), 1);
    await waitFor(
      async () => (await db.count('SELECT count(*) FROM webhook_events')) === SINGLE_FIXTURES.length,
      {
        what: 'fixtures stored',
      },
    );
    expect(await db.count('SELECT count(*) FROM feed_outbox')).toBe(0);
    const health = (await (await fetch(`${off.url}/health`)).json()) as { details: Record<string, unknown> };
    expect(health.details).not.toHaveProperty('feed');
    expect(await (await fetch(`${off.url}/metrics`)).text()).not.toMatch(/^webhook_feed_relay_active 1$/m);

    // A feed-enabled instance on the same database and prefix finds nothing owed: only its own
    // sentinel arrives.
    await off.close();
    apps.pop();
    const on = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, AMQP_PREFIX: prefix });
    apps.push(on);
    const last = await sentinel(on.url, feed);
    expect(feed.copies.map((copy) => copy.eventId)).toEqual([last]);
  });
});

describe('the feed: order per entity, concurrent workers, commits out of order', () => {
  let scratch: ScratchDatabase;
  let api: TestApp;
  const workers: TestApp[] = [];
  let db: Db;
  let feed: FeedQueue;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_order');
    const prefix = uniquePrefix('feedorder');
    feed = await FeedQueue.bind(prefix);
    api = await startApp({ APP_ROLE: 'api', AMQP_PREFIX: prefix });
    // Two workers store concurrently (entity locks serialise them), one of them relays.
    for (let i = 0; i < 2; i++) {
      workers.push(
        await startApp({
          APP_ROLE: 'worker',
          DATABASE_URL: scratch.url,
          AMQP_PREFIX: prefix,
          CONSUMER_BATCH_SIZE: '3',
          CONSUMER_PREFETCH: '6',
        }),
      );
    }
    db = await Db.connect(scratch.url);
  });

  afterAll(async () => {
    for (const worker of workers) await worker.close();
    await api?.close();
    await feed?.deleteWithTopology();
    await db?.close();
    await scratch?.drop();
  });

  it('publishes batch.out-of-order.json in storage order: read applied, then sent and delivered stale', async () => {
    const batch = JSON.parse(fixture('batch.out-of-order.json').toString('utf8')) as { eventId: string }[];
    await deliver(api.url, fixture('batch.out-of-order.json'), batch.length);
    await feed.waitForAll(batch.map((event) => event.eventId));
    const copies = feed.copies.filter((copy) => batch.some((event) => event.eventId === copy.eventId));
    expect(copies.map((copy) => copy.routingKey)).toEqual([
      'applied.message.read',
      'stale.message.sent',
      'stale.message.delivered',
      'applied.interaction.click',
    ]);
    const stored = byId(await storedEvents(db, 'event_id = ANY($1)', [batch.map((event) => event.eventId)]));
    for (const copy of copies) {
      const row = stored.get(copy.eventId)!;
      expect(copy.body).toEqual(row.payload);
      expect(copy.headers).toStrictEqual(expectedHeaders(row));
    }
    expect(revisionWalkMismatches(copies, stored)).toEqual([]);
    expect(appliedState(copies)).toEqual(await storedState(db));
  });

  it('publishes a shuffled 2,000-event stream of 50 messages in storage order per message', async () => {
    const seed = Date.now() % 100000;
    const tag = `ord-${seed}`;
    const { eventIds, bodies } = shuffledStream(tag, { messages: 50, revisions: 40, perDelivery: 20, seed });
    const started = Date.now();
    expect(new Set(await postAll(api.url, bodies, 4))).toEqual(new Set([200]));
    await feed.waitForAll(eventIds, 60000);
    const elapsed = Date.now() - started;

    const copies = feed.copies.filter((copy) => copy.eventId.startsWith(`${tag}-`));
    // No fault happened: exactly once.
    expect(copies).toHaveLength(eventIds.length);
    const stored = byId(await storedEvents(db, 'event_id LIKE $1', [`${tag}-%`]));
    expect(stored.size).toBe(eventIds.length);
    const outcomes = { applied: 0, stale: 0 };
    for (const row of stored.values()) outcomes[row.outcome as 'applied' | 'stale']++;
    const perWorker = await Promise.all(
      workers.map(async (worker) => (await eventCounts(worker.app)).applied),
    );
    console.log(
      `feed order (seed ${seed}): 2,000 events in ${elapsed} ms; ${outcomes.applied} applied, ${outcomes.stale} stale; ` +
        `applied per worker (all tests so far): ${perWorker.join(', ')}`,
    );
    // The stream really is out of order, and both workers stored part of it.
    expect(outcomes.stale).toBeGreaterThan(500);
    expect(perWorker.every((count) => count > 0)).toBe(true);

    expect(revisionWalkMismatches(copies, stored)).toEqual([]);
    const state = await storedState(db);
    const mine = new Map([...state].filter(([key]) => key.includes(`"${tag}-m`)));
    expect(mine.size).toBe(50);
    for (const { revision, eventId } of mine.values()) {
      expect(revision).toBe('40');
      expect(eventId).toMatch(/-r40$/);
    }
    const consumer = appliedState(copies);
    expect(consumer).toEqual(mine);
    await outboxDrained(db);
  }, 90000);

  it('publishes an event whose transaction holds a lower position but commits after higher ones', async () => {
    const client = new Client({ connectionString: scratch.url });
    await client.connect();
    try {
      const early = envelope({ eventId: `early-${Date.now()}` });
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO webhook_events (event_id, name, api_space_id, entity_type, entity_id, revision, outcome, payload,
                                     received_at, delivery_id)
         VALUES ($1, 'message.sent', 'space-e2e', 'message', $2, 1, 'applied', $3, now(), 'test-delivery')`,
        [early.eventId, (early.payload as { id: string }).id, JSON.stringify(early)],
      );
      const [{ position }] = (
        await client.query<{ position: string }>(
          `INSERT INTO feed_outbox (event_ids) VALUES (ARRAY[$1::text]) RETURNING position`,
          [early.eventId],
        )
      ).rows;

      // Meanwhile the service stores and publishes events with higher positions, committed first.
      const later = Array.from({ length: 5 }, () => envelope());
      for (const event of later) await deliver(api.url, JSON.stringify(event), 1);
      await feed.waitForAll(later.map((event) => event.eventId as string));
      const drawn = await db.rows<{ last: string }>(
        `SELECT last_value::text AS last FROM pg_sequences WHERE sequencename = 'feed_outbox_position_seq'`,
      );
      expect(BigInt(drawn[0].last)).toBeGreaterThan(BigInt(position));
      expect(copiesOf(feed, early.eventId as string)).toHaveLength(0);

      await client.query('COMMIT');
      await feed.waitForAll([early.eventId as string], 15000, 'late-committed event');
      expect(copiesOf(feed, early.eventId as string)).toHaveLength(1);
      await outboxDrained(db);
    } finally {
      await client.end();
    }
  });
});

describe('the feed: replay of stored events', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let feed: FeedQueue;
  let dataSource: DataSource;
  const run = Date.now().toString(36);
  const T0 = Date.parse('2020-03-01T10:00:00.000Z');
  const at = (minutes: number) => new Date(T0 + minutes * 60_000);
  /** One event per delivery, each received at its own minute (published straight to the queue with that time). */
  const plan = [
    { minute: 0, name: 'message.sent', apiSpaceId: 'space-a', entity: 'ma', revision: 1 },
    { minute: 1, name: 'message.delivered', apiSpaceId: 'space-a', entity: 'ma', revision: 2 },
    { minute: 2, name: 'message.sent', apiSpaceId: 'space-b', entity: 'mb', revision: 1 },
    { minute: 3, name: 'message.read', apiSpaceId: 'space-b', entity: 'mb', revision: 3 },
    { minute: 4, name: 'profile.update', apiSpaceId: 'space-a', entity: 'pa', revision: 1 },
    { minute: 5, name: 'message.sent', apiSpaceId: undefined, entity: 'mc', revision: 1 },
    { minute: 30, name: 'message.sent', apiSpaceId: 'space-a', entity: 'md', revision: 1 },
  ].map((item) => ({
    ...item,
    eventId: `rp-${run}-${item.minute}`,
    body: JSON.stringify(
      envelope({
        eventId: `rp-${run}-${item.minute}`,
        name: item.name,
        apiSpaceId: item.apiSpaceId,
        payload:
          item.name === 'profile.update'
            ? { id: `${item.entity}-${run}@example.com` }
            : { id: `${item.entity}-${run}` },
        revision: item.revision,
      }),
    ),
  }));
  const idsAt = (...minutes: number[]) =>
    plan.filter((item) => minutes.includes(item.minute)).map((item) => item.eventId);
  const original = new Map<string, FeedCopy>();

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_replay');
    const prefix = uniquePrefix('feedreplay');
    feed = await FeedQueue.bind(prefix);
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, AMQP_PREFIX: prefix });
    db = await Db.connect(scratch.url);
    dataSource = new DataSource(dataSourceOptions(scratch.url));
    await dataSource.initialize();
    const publisher = await DirectPublisher.connect(prefix);
    try {
      await publisher.publish(
        plan.map((item) => ({ body: Buffer.from(item.body), receivedAt: at(item.minute) })),
      );
    } finally {
      await publisher.close();
    }
    await feed.waitForAll(plan.map((item) => item.eventId));
    for (const copy of feed.copies) original.set(copy.eventId, copy);
    expect(feed.copies.every((copy) => !('x-replayed' in copy.headers))).toBe(true);
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await app?.close();
    await feed?.deleteWithTopology();
    await db?.close();
    await scratch?.drop();
  });

  /** Runs `replay`, then a sentinel; returns what arrived before the sentinel. */
  async function replayed(replay: () => Promise<unknown>): Promise<{ result: unknown; copies: FeedCopy[] }> {
    feed.clear();
    const result = await replay();
    const last = await sentinel(app.url, feed);
    expect(copiesOf(feed, last)[0].headers).not.toHaveProperty('x-replayed');
    return { result, copies: feed.copies.filter((copy) => copy.eventId !== last) };
  }

  /** Each expected event once, marked replayed, otherwise exactly as first published, oldest first. */
  function expectReplayOf(copies: FeedCopy[], expected: string[]) {
    expect(copies.map((copy) => copy.eventId)).toEqual(expected);
    for (const copy of copies) {
      const first = original.get(copy.eventId)!;
      expect(copy.headers).toStrictEqual({ ...first.headers, 'x-replayed': true });
      expect(copy.routingKey).toBe(first.routingKey);
      expect(copy.body).toEqual(first.body);
      expect(copy.properties.messageId).toBe(copy.eventId);
    }
  }

  it.each<[string, ReplayRange, number[]]>([
    ['a time range (since inclusive, until exclusive)', { since: at(1), until: at(4) }, [1, 2, 3]],
    ['one event name', { since: at(0), until: at(60), name: 'message.sent' }, [0, 2, 5, 30]],
    ['one API space', { since: at(0), until: at(60), apiSpaceId: 'space-b' }, [2, 3]],
    [
      'a name and an API space',
      { since: at(0), until: at(10), name: 'message.sent', apiSpaceId: 'space-a' },
      [0],
    ],
    ['a range with no events', { since: at(6), until: at(29) }, []],
  ])(
    'FeedOutbox.replay of %s publishes exactly those events again, with x-replayed',
    async (_, range, minutes) => {
      const { result, copies } = await replayed(() => new FeedOutbox(dataSource).replay(range));
      expect(result).toBe(minutes.length);
      expectReplayOf(copies, idsAt(...minutes));
      await outboxDrained(db);
    },
  );

  /** The CLI through ts-node (the source as it stands; `npm run feed:replay` runs the built file). */
  function cli(args: string[], env: Record<string, string> = { DATABASE_URL: scratch.url }) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'feed', 'replay.cli.ts'), ...args],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('npm run feed:replay queues the range for the relay, prints the count and exits 0 (2 on bad arguments)', async () => {
    const args = [
      '--since',
      at(0).toISOString(),
      '--until',
      '2020-03-01T10:10:00Z',
      '--api-space-id',
      'space-a',
    ];
    // A refused command line as a real process too, meanwhile: its exit code and the usage text.
    const refused = cli(['--since', 'yesterday', '--until', '2020-03-01T11:00:00Z']);
    const { result, copies } = await replayed(() => cli(args));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect((result as { stdout: string }).stdout).toMatch(/^queued 3 events for the feed /);
    expectReplayOf(copies, idsAt(0, 1, 4));
    const bad = await refused;
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^feed:replay: --since: "yesterday" is not an ISO 8601 date-time/);
    expect(bad.stderr).toContain('usage: npm run feed:replay -- --since <ISO 8601> --until <ISO 8601>');
  }, 60000);

  it('npm run feed:replay refuses bad arguments and a bad DATABASE_URL with exit code 2, queuing nothing', async () => {
    const range = ['--since', '2020-03-01T10:00:00Z', '--until', '2020-03-01T11:00:00Z'];
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--until', '2020-03-01T11:00:00Z'], {}, /--since is required/],
      [['--since', '2020-03-01T10:00:00Z'], {}, /--until is required/],
      [
        ['--since', 'yesterday', '--until', '2020-03-01T11:00:00Z'],
        {},
        /--since: "yesterday" is not an ISO 8601/,
      ],
      [
        ['--since', '2020-03-01T10:00:00Z', '--until', '2020-02-30T10:00:00Z'],
        {},
        /--until: .* is not an ISO 8601/,
      ],
      [
        ['--since', '2020-03-01T11:00:00Z', '--until', '2020-03-01T10:00:00Z'],
        {},
        /--until must be later than --since/,
      ],
      [[...range, '--bogus'], {}, /--bogus/],
      [[...range, 'positional'], {}, /positional/],
      [[...range, '--name', ''], {}, /--name must not be empty/],
      [[...range, '--api-space-id', ' '], {}, /--api-space-id must not be empty/],
      [range, { DATABASE_URL: 'mysql://user:secret-password@db/x' }, /DATABASE_URL: must be a URL/],
    ];
    // In this process: the function the command runs (the real process's exit code is tested above).
    for (const [args, env, message] of cases) {
      let stdout = '';
      let stderr = '';
      const code = await runReplayCli(args, env, {
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
      });
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
      expect(stderr).not.toContain('secret-password');
    }
    expect(await db.count('SELECT count(*) FROM feed_outbox WHERE replay')).toBe(0);
  }, 60000);
});
