/**
 * `npm run bench:admin`: latency of the operations API (/admin) and of every console page on a large
 * table. A database of its own with BENCH_ADMIN_EVENTS (1,000,000) stored events made with
 * generate_series (and the console's other rows, admin-console.ts), the service (dist/main.js, or
 * BENCH_SERVICE_MAIN) as APP_ROLE=worker with ADMIN_API_KEYS, then autocannon for BENCH_DURATION
 * (10) s per route at BENCH_CONNECTIONS (8) connections: /admin routes with the bearer key, console
 * pages with a session cookie, a 7-day payload search among them. Prints a Markdown table (p50, p99,
 * req/s, the target, load average before and after each run) to stdout; progress goes to stderr.
 * Removes its database, queues and process at the end, also after a failure or Ctrl-C.
 * Knobs and results: docs/performance.md, "Operations API".
 */
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from 'pg';
import { CursorCodec } from '../src/admin/http/cursor';
import { consoleScenarios, consoleSession, generateConsoleRows } from './admin-console';
import { newTag } from './lib/bodies';
import { Infra } from './lib/infra';
import { runBench, ServerProcess } from './lib/proc';

const ROOT = resolve(__dirname, '..');
const env = process.env;
const num = (name: string, fallback: number) => {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number`);
  return parsed;
};
const EVENTS = Math.round(num('BENCH_ADMIN_EVENTS', 1_000_000));
const DURATION_S = num('BENCH_DURATION', 10);
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 8));
const PORT = Math.round(num('BENCH_PORT', 3741));
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? join(ROOT, 'dist', 'main.js'));
const ADMIN_DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const TARGET_P99_MS = 50;

const log = (message: string) =>
  process.stderr.write(`[bench:admin ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Scenario {
  label: string;
  /** Paths to rotate through (one per request, in turn). */
  paths: string[];
  /** The p99 it must stay within. */
  targetMs: number;
  /** How the request authenticates: the bearer key (/admin) or the session cookie (/console). */
  auth?: 'bearer' | 'session';
}

interface Outcome {
  label: string;
  p50Ms: number;
  p99Ms: number;
  targetMs: number;
  reqPerSec: number;
  ok: number;
  non2xx: number;
  errors: number;
  loadBefore: string;
  loadAfter: string;
}

let infra: Infra | undefined;

async function main(): Promise<void> {
  const started = Date.now();
  const tag = newTag('bench_admin_');
  const prefix = `bench-${tag}`;
  const key = randomBytes(24).toString('hex');
  infra = new Infra(ADMIN_DATABASE_URL, AMQP_URL);
  await infra.connect();
  infra.track(
    [`${prefix}.deliveries`, `${prefix}.deliveries.dead-letter`],
    [`${prefix}.deliveries`, `${prefix}.dead-letter`, `${prefix}.events`],
  );
  const versions = await infra.versions();
  const databaseUrl = await infra.createDatabase(tag);
  const service = new ServerProcess({
    name: 'service',
    port: PORT,
    args: [SERVICE_MAIN],
    readyPath: '/health/ready',
    env: {
      APP_ROLE: 'worker',
      LOG_LEVEL: 'warn',
      WEBHOOK_SECRETS: randomBytes(16).toString('hex'),
      ADMIN_API_KEYS: key,
      DATABASE_URL: databaseUrl,
      AMQP_URL,
      AMQP_PREFIX: prefix,
    },
  });
  try {
    log(`starting the service (migrations at start-up), database ${tag}`);
    await service.start();
    const db = await infra.db(tag);
    log(`generating ${EVENTS.toLocaleString('en-US')} events (load ${load()})`);
    const generateStarted = Date.now();
    await generate(db, EVENTS);
    await generateConsoleRows(db, EVENTS);
    const generateS = (Date.now() - generateStarted) / 1000;
    log(`generated in ${generateS.toFixed(0)} s`);

    const cookie = await consoleSession(`http://127.0.0.1:${PORT}`, key);
    const scenarios: Scenario[] = [
      ...(await scenariosOf(db, key)),
      ...(await consoleScenarios(db, EVENTS)).map((s) => ({ ...s, auth: 'session' as const })),
    ];
    const outcomes: Outcome[] = [];
    for (const scenario of scenarios) {
      const credentials: Record<string, string> =
        scenario.auth === 'session' ? { cookie } : { authorization: `Bearer ${key}` };
      await run(scenario, credentials, 2); // warm-up: connections, plans, caches
      const loadBefore = load();
      log(`${scenario.label}: ${DURATION_S} s at ${CONNECTIONS} connections (load ${loadBefore})`);
      const outcome = await run(scenario, credentials, DURATION_S);
      outcomes.push({ ...outcome, loadBefore, loadAfter: load() });
      log(
        `${scenario.label}: p50 ${outcome.p50Ms} ms, p99 ${outcome.p99Ms} ms, ${outcome.reqPerSec.toFixed(0)} req/s, ` +
          `${outcome.non2xx} non-2xx, ${outcome.errors} errors`,
      );
    }
    process.stdout.write(report(outcomes, versions, generateS, (Date.now() - started) / 1000) + '\n');
  } finally {
    await service.stop();
    const problems = await infra.cleanUp();
    for (const problem of problems) log(`clean-up: ${problem}`);
  }
}

/** The routes measured, with parameters taken from the generated data. */
async function scenariosOf(db: Client, key: string): Promise<Scenario[]> {
  // 200 message ids (with their space) spread over the table, for the entityId filter and stories.
  const { rows: entities } = await db.query<{ entity_id: string; api_space_id: string }>(
    `SELECT entity_id, api_space_id FROM webhook_events
      WHERE entity_type = 'message' AND api_space_id IS NOT NULL AND event_id IN (
            SELECT 'evt-' || lpad((1 + (g * 4999) % $1::int)::text, 8, '0') FROM generate_series(1, 200) AS g)`,
    [EVENTS],
  );
  // 200 cursors deep in the list (between half-way and the end), signed as the service signs them.
  const codec = new CursorCodec([key], 'events');
  const { rows: positions } = await db.query<{ us: string; id: string }>(
    `SELECT (extract(epoch FROM received_at) * 1000000)::bigint::text AS us, event_id AS id
       FROM webhook_events
      WHERE event_id IN (SELECT 'evt-' || lpad(($1::int / 2 + (g * 2371) % ($1::int / 2))::text, 8, '0')
                           FROM generate_series(1, 200) AS g)`,
    [EVENTS],
  );
  const cursors = positions.map((p) => codec.encode({ receivedAtMicros: p.us, id: p.id }));
  const routes: Omit<Scenario, 'targetMs'>[] = [
    { label: 'GET /admin/events?name=message.read', paths: ['/admin/events?name=message.read'] },
    {
      label: `GET /admin/events?entityId=<id> (${entities.length} ids)`,
      paths: entities.map((e) => `/admin/events?entityId=${encodeURIComponent(e.entity_id)}`),
    },
    { label: 'GET /admin/events?outcome=stale', paths: ['/admin/events?outcome=stale'] },
    {
      label: `GET /admin/events?cursor=<deep> (${cursors.length} cursors, 50–100 % deep)`,
      paths: cursors.map((cursor) => `/admin/events?cursor=${encodeURIComponent(cursor)}`),
    },
    {
      label: `GET /admin/entities/message/<id>?apiSpaceId=… (${entities.length} ids)`,
      paths: entities.map(
        (e) => `/admin/entities/message/${encodeURIComponent(e.entity_id)}?apiSpaceId=${e.api_space_id}`,
      ),
    },
  ];
  return routes.map((route) => ({ ...route, targetMs: TARGET_P99_MS }));
}

function run(
  scenario: Scenario,
  credentials: Record<string, string>,
  durationS: number,
): Promise<Omit<Outcome, 'loadBefore' | 'loadAfter'>> {
  let next = 0;
  return new Promise((resolvePromise, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${PORT}`,
        connections: CONNECTIONS,
        duration: durationS,
        timeout: 15,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({
              ...req,
              path: scenario.paths[next++ % scenario.paths.length],
              headers: { ...req.headers, ...credentials },
            }),
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        resolvePromise({
          label: scenario.label,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          targetMs: scenario.targetMs,
          reqPerSec: result['2xx'] / result.duration,
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
        });
      },
    );
  });
}

/**
 * Events as production would hold them (the same shape as test/admin-indexes.e2e-spec.ts): four API
 * spaces (5 % without), eight names over four entity types, outcomes applied 85 % / untracked 12 % /
 * stale 3 %, a message id per three events, received over 30 days, 100 events per delivery. The
 * secondary indexes (as the migrations made them) are dropped for the load and built again after it.
 */
async function generate(db: Client, events: number): Promise<void> {
  const { rows: indexes } = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'webhook_events' AND indexname NOT LIKE '%_pkey'`,
  );
  for (const { indexname } of indexes) await db.query(`DROP INDEX ${indexname}`);
  await db.query(`SET maintenance_work_mem = '256MB'`);
  await db.query(`SELECT setseed(0.42)`);
  await db.query(
    `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision, etag,
                                 event_timestamp, outcome, payload, received_at, delivery_id)
     SELECT event_id, name, 40213, space, split_part(name, '.', 1), entity_id,
            CASE WHEN outcome = 'untracked' THEN NULL ELSE 1 + n % 3 END, '"e' || n || '"',
            received_at - interval '1 second', outcome,
            jsonb_build_object('eventId', event_id, 'accountId', 40213, 'apiSpaceId', space, 'name', name,
                               'payload', jsonb_build_object('id', entity_id, 'channel', 'sms',
                                                             'status', split_part(name, '.', 2)),
                               'revision', 1 + n % 3, 'etag', '"e' || n || '"',
                               'timestamp', to_char(received_at - interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
            received_at, delivery_id
       FROM (SELECT n, 'evt-' || lpad(n::text, 8, '0') AS event_id, name, space, outcome,
                    CASE WHEN name LIKE 'profile.%' THEN 'user' || (n % 50000) || '@example.com'
                         WHEN name LIKE 'chat.%' THEN NULL
                         ELSE 'msg-' || (n / 3) END AS entity_id,
                    now() - (n / 100) * (interval '30 days' / ($1::int / 100)) AS received_at,
                    'dlv-' || (n / 100) AS delivery_id
               FROM (SELECT n,
                            (ARRAY['message.sent', 'message.delivered', 'message.read', 'message.sent',
                                   'message.delivered', 'message.read', 'message.failed', 'interaction.click',
                                   'interaction.click', 'profile.update', 'chat.message'])[1 + (n * 7) % 11] AS name,
                            CASE WHEN r1 < 0.55 THEN 'space-a' WHEN r1 < 0.80 THEN 'space-b'
                                 WHEN r1 < 0.90 THEN 'space-c' WHEN r1 < 0.95 THEN 'space-d' END AS space,
                            CASE WHEN r2 < 0.85 THEN 'applied' WHEN r2 < 0.97 THEN 'untracked' ELSE 'stale' END
                              AS outcome
                       FROM (SELECT n, random() AS r1, random() AS r2 FROM generate_series(1, $1::int) AS n) AS g
                    ) AS named
            ) AS rows`,
    [events],
  );
  for (const { indexdef } of indexes) await db.query(indexdef);
  await db.query('VACUUM ANALYZE webhook_events');
}

function report(
  outcomes: Outcome[],
  versions: { postgres: string; rabbitmq: string },
  generateS: number,
  totalS: number,
): string {
  const fmt = (value: number, digits = 0) =>
    value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const cpu = cpus();
  const out = [
    `Run ${new Date().toISOString().slice(0, 16)}Z: ${EVENTS.toLocaleString('en-US')} events, ` +
      `${DURATION_S} s per route at ${CONNECTIONS} connections (after 2 s of warm-up), ` +
      `generated in ${fmt(generateS)} s, ${fmt(totalS)} s in all. Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ` +
      `PostgreSQL ${versions.postgres}, RabbitMQ ${versions.rabbitmq}; load tool, PostgreSQL and RabbitMQ on the same cores.`,
    '',
    `| route | p50 ms | p99 ms | req/s | non-2xx / errors | p99 within target | load average before → after (1/5/15 min) |`,
    '|---|---:|---:|---:|---:|---|---|',
    ...outcomes.map(
      (o) =>
        `| ${o.label} | ${fmt(o.p50Ms)} | ${fmt(o.p99Ms)} | ${fmt(o.reqPerSec)} | ${o.non2xx} / ${o.errors} | ` +
        `${o.p99Ms <= o.targetMs && o.non2xx === 0 && o.errors === 0 ? 'yes' : '**no**'} (≤ ${fmt(o.targetMs)} ms) | ${o.loadBefore} → ${o.loadAfter} |`,
    ),
  ];
  return out.join('\n');
}

runBench('bench:admin', main, () => infra?.cleanUp());
