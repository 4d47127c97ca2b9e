/*
 * `npm run bench:retention` (docs/performance.md § Retention): the service (APP_ROLE=all) on a copy of
 * one seeded database takes 100-event batches from closed-loop clients (POST, wait for the rows, POST
 * the next) for a fixed time, without retention ("off") and with RETENTION_DAYS=7 ("on": the job
 * removes the old rows meanwhile), rounds in ABBA order. Removes its databases, queues and processes.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source.options';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { BENCH_SECRET, newTag, signedBodies } from './lib/bodies';
import { Infra } from './lib/infra';
import { postAll } from './lib/load';
import { runBench, ServerProcess } from './lib/proc';

const { env } = process;
const num = (name: string, fallback: number) => Number(env[name] || fallback);
const DURATION_S = num('BENCH_RETENTION_DURATION', 180);
const ROUNDS = num('BENCH_RETENTION_ROUNDS', 1);
const OLD = num('BENCH_RETENTION_OLD', 1_000_000);
const RECENT = num('BENCH_RETENTION_RECENT', 100_000);
const CLIENTS = num('BENCH_RETENTION_CLIENTS', 16);
const PORT = num('BENCH_RETENTION_PORT', 3611);
const POLL_MS = 20;
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? resolve(__dirname, '..', 'dist', 'main.js'));
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DELETED = 'webhook_retention_deleted_total{table="webhook_events"}';
const LAST_SUCCESS = 'webhook_retention_last_success_timestamp_seconds';

type Mode = 'off' | 'on';
type Sample = { postedAt: number; ms: number }; // one batch: POSTed when, rows visible how much later

const log = (message: string) =>
  process.stderr.write(`[bench:retention ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const load = () => [...loadavg()].map((l) => l.toFixed(2)).join(' / ');
const infra = new Infra(ADMIN_URL, AMQP_URL);
const databases = new Set<string>();

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'bench-retention' });
  client.on('error', () => undefined); // a dropped database ends its sessions; the query says why
  await client.connect();
  return client;
}
const urlOf = (name: string) => Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();

/* OLD events received 8–15 days ago and RECENT ones of the last 3.5 days, 100 per delivery, ~650-byte
 * payloads shaped like bench/lib/bodies.ts (message sent → delivered → read), every message in
 * entity_revisions; 10,000 old and 1,000 recent 1 KB quarantine rows. */
async function seed(url: string): Promise<void> {
  const dataSource = new DataSource(dataSourceOptions(url));
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  await dataSource.destroy();
  const db = await connect(url);
  const events = (prefix: string, count: number, receivedAt: string) =>
    db.query(
      `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision,
                                   etag, event_timestamp, outcome, payload, received_at, delivery_id)
       SELECT id, name, 40213, 'space-1', 'message', message, g % 3 + 1, etag, at, 'applied',
              jsonb_build_object('eventId', id, 'accountId', 40213, 'apiSpaceId', 'space-1'::text, 'name', name,
                'revision', g % 3 + 1, 'etag', etag, 'timestamp', at, 'payload', jsonb_build_object(
                  'id', message, 'details', jsonb_build_object('channel', 'sms', 'additionalInfo',
                    jsonb_build_object('to', '447700900123', 'successful', true, 'clientRef', 'order-' || g),
                    'channelStatus', jsonb_build_object('sms', jsonb_build_object('status', substr(name, 9),
                      'details', jsonb_build_object('to', '447700900123'), 'updatedOn', at))),
                  'metadata', jsonb_build_object('orderId', g::text, 'journey', 'dispatch-notice'))),
              at, '${prefix}-d' || (g / 100)
         FROM generate_series(0, $1 - 1) AS g,
              LATERAL (SELECT '${prefix}-e' || g AS id, '${prefix}-m' || (g / 3) AS message, '"2c-' || g || '"' AS etag,
                              ${receivedAt} AS at,
                              (ARRAY['message.sent', 'message.delivered', 'message.read'])[g % 3 + 1] AS name) AS e`,
      [count],
    );
  await events('old', OLD, `now() - interval '8 days' - (g / 100) * interval '1 minute'`);
  await events('new', RECENT, `now() - (g / 100) * interval '5 minutes'`);
  await db.query(
    `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
     SELECT DISTINCT ON (entity_id) 'space-1', 'message', entity_id, revision, event_id, name
       FROM webhook_events ORDER BY entity_id, revision DESC`,
  );
  await db.query(
    `INSERT INTO quarantined_deliveries (received_at, reason, body, delivery_id)
     SELECT CASE WHEN g % 11 = 0 THEN now() ELSE now() - interval '8 days' - g * interval '1 minute' END,
            'not JSON', convert_to(repeat('x', 1000), 'UTF8'), 'bad-' || g FROM generate_series(1, 11000) AS g`,
  );
  await db.query('VACUUM (ANALYZE)');
  await db.end();
}

/** The value of a series in /metrics, 0 when absent. */
async function metric(proc: ServerProcess, series: string): Promise<number> {
  const text = await (await fetch(`${proc.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const percentile = (samples: readonly Sample[], p: number): number | null =>
  samples.map((s) => s.ms).sort((a, b) => a - b)[Math.floor((p / 100) * samples.length)] ?? null;

/** CLIENTS closed-loop clients for DURATION_S; latency from the POST to the batch's rows being visible. */
async function measure(proc: ServerProcess, db: Client, mode: Mode) {
  const waiting = new Map<string, () => void>();
  const samples: Sample[] = [];
  let polling = true;
  const poller = (async () => {
    for (; polling; await sleep(POLL_MS)) {
      if (waiting.size === 0) continue;
      const { rows } = await db.query<{ event_id: string }>(
        'SELECT event_id FROM webhook_events WHERE event_id = ANY($1::text[])',
        [[...waiting.keys()]],
      );
      for (const { event_id } of rows) waiting.get(event_id)?.();
    }
  })();
  let removalFrom: number | null = null; // the first 250-ms sample counting deleted rows; ends at LAST_SUCCESS
  const sampler = setInterval(
    () => void metric(proc, DELETED).then((n) => (removalFrom ??= n > 0 ? Date.now() - 250 : null)),
    250,
  );
  const started = Date.now();
  const client = async () => {
    while (Date.now() < started + DURATION_S * 1000) {
      const tag = newTag('r'); // unique event ids per batch
      const visible = new Promise<void>((done) => waiting.set(`${tag}-e99`, done));
      const postedAt = Date.now();
      const outcome = await postAll(proc.url, signedBodies(tag, 100, 1), 1);
      if (outcome.ok !== 1) throw new Error(`POST failed: ${JSON.stringify(outcome)}`);
      await visible;
      waiting.delete(`${tag}-e99`);
      samples.push({ postedAt, ms: Date.now() - postedAt });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const elapsedS = (Date.now() - started) / 1000;
  let removalTo = 0; // a removal still running when the window closes is followed to its end
  for (const until = Date.now() + 900000; mode === 'on' && !removalTo && Date.now() < until; await sleep(250))
    removalTo = (await metric(proc, LAST_SUCCESS)) * 1000;
  clearInterval(sampler);
  polling = false;
  await poller;
  const during = samples.filter((s) => s.postedAt >= (removalFrom ?? Infinity) && s.postedAt < removalTo);
  const at = (t: number | null) => (t ? ((t - started) / 1000).toFixed(0) : '?');
  return {
    mode,
    load: load(),
    eventsPerSec: (samples.length * 100) / elapsedS,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    p99DuringRemovalMs: percentile(during, 99),
    removed: await metric(proc, DELETED),
    removal: mode === 'on' ? `${at(removalFrom)}–${at(removalTo)} s` : '—',
  };
}
type Result = Awaited<ReturnType<typeof measure>>;

async function run(seedDb: string, admin: Client, round: number, mode: Mode): Promise<Result> {
  const name = `${seedDb.replace(/_seed$/, '')}_r${round}_${mode}`;
  databases.add(name);
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${seedDb}" STRATEGY FILE_COPY`);
  const prefix = `bench-${name}`;
  const queue = `${prefix}.deliveries`;
  infra.track([queue, `${queue}.dead-letter`], [queue, `${prefix}.dead-letter`]);
  const proc = new ServerProcess({
    name: `service-${mode}`,
    port: PORT,
    args: [SERVICE_MAIN],
    readyPath: '/health/ready',
    env: { APP_ROLE: 'all', LOG_LEVEL: 'warn', WEBHOOK_SECRETS: BENCH_SECRET, AMQP_URL, AMQP_PREFIX: prefix },
  });
  const db = await connect(urlOf(name));
  try {
    log(`round ${round}, retention ${mode}: starting the service (load ${load()})`);
    await proc.start({ DATABASE_URL: urlOf(name), ...(mode === 'on' ? { RETENTION_DAYS: '7' } : {}) });
    while (!(await infra.queueState(queue))?.consumers) await sleep(100);
    const result = await measure(proc, db, mode);
    log(`round ${round}, retention ${mode}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await proc.stop();
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

function table(results: Result[]): string {
  const f = (n: number | null) => (n === null ? '—' : Math.round(n).toLocaleString('en-US'));
  return [
    '| run | retention | events/s | p50 ms | p99 ms | p99 ms while removing | old rows removed | removal ran (s into the run) | load average at end (1/5/15 min) |',
    '|---|---|---:|---:|---:|---:|---:|---|---|',
    ...results.map(
      (r, k) =>
        `| ${k + 1} | ${r.mode === 'on' ? 'RETENTION_DAYS=7' : 'off'} | ${f(r.eventsPerSec)} | ${f(r.p50Ms)} | ` +
        `${f(r.p99Ms)} | ${f(r.p99DuringRemovalMs)} | ${r.mode === 'on' ? f(r.removed) : '—'} | ${r.removal} | ${r.load} |`,
    ),
  ].join('\n');
}

/** Drops every database of the run and deletes its queues; never throws. */
async function cleanUp(): Promise<void> {
  const admin = await connect(ADMIN_URL).catch(() => null);
  for (const name of databases)
    await admin?.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  await admin?.end();
  const problems = await infra.cleanUp();
  log(problems.length ? `clean-up problems: ${problems.join('; ')}` : 'databases and queues removed');
}

async function main(): Promise<void> {
  const loadAtStart = load();
  await infra.connect();
  const admin = await connect(ADMIN_URL);
  const seedDb = `${newTag('bret_')}_seed`;
  databases.add(seedDb);
  try {
    log(`seeding ${OLD} old and ${RECENT} recent events (load ${load()})`);
    await seed(await infra.createDatabase(seedDb));
    log(`seeded (load ${load()})`);
    const results: Result[] = [];
    const order: Mode[] = ['off', 'on'];
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 ? [...order].reverse() : order)
        results.push(await run(seedDb, admin, round, mode));
    }
    process.stdout.write(
      `${DURATION_S} s per run, ${CLIENTS} closed-loop clients of 100-event batches, ${OLD.toLocaleString('en-US')} ` +
        `old + ${RECENT.toLocaleString('en-US')} recent events; load average at start ${loadAtStart}\n\n` +
        `${table(results)}\n`,
    );
  } finally {
    await admin.end();
    await cleanUp();
  }
}

runBench('bench:retention', main, cleanUp);
