/**
 * `npm run bench`: the service (dist/main.js, or BENCH_SERVICE_MAIN) against the bare floor
 * (bench/reference/bare.ts: primary keys only, no advisory locks, the least code) and the
 * like-for-like reference (bench/reference/server.ts: the service's schema), all HTTP + consumer in
 * one process, on the same PostgreSQL and RabbitMQ, each with its own database and queue names,
 * alternating run by run. Then the service alone: feed on/off, the storage breakdown, overload,
 * scale-out. Writes the run's data, bench/results/latest.json, and the tables rendered from it,
 * bench/results/latest.md (+ stdout; bench/lib/render.ts). Knobs: docs/performance.md.
 */
import { connect, type ChannelModel } from 'amqplib';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ts from 'typescript';
import { validateEnv } from '../src/config/env.schema';
import { runBreakdown, type BreakdownLine } from './breakdown';
import { BENCH_SECRET, expectedRevisions, newTag, signedBodies, type SignedBody } from './lib/bodies';
import { Deployment } from './lib/deployment';
import { imageNodeArgs, imageRuntimeEnv } from './lib/image-env';
import { Infra } from './lib/infra';
import { postAll, runLoad, type LoadOutcome } from './lib/load';
import { nginxBinary, nginxProcess } from './lib/nginx';
import { runBench, ServerProcess } from './lib/proc';
import { renderResults, type BenchResults } from './lib/render';
import { SCENARIO_TITLES, type Machine, type Settings } from './lib/report';
import { summarize, type RunRecord, type Summary } from './lib/stats';
import { startDestinationSink } from './lib/destination-sink';
import { startOtlpSink } from './lib/otlp-sink';
import { summariseProfile } from './profile-summary';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');
const MiB = 1024;

// ------------------------------------------------------------------ settings

const env = process.env;
const QUICK = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
const num = (name: string, fallback: number) => {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number`);
  return parsed;
};
const DURATION_S = num('BENCH_DURATION', QUICK ? 3 : 8);
const ROUNDS = Math.round(num('BENCH_ROUNDS', QUICK ? 1 : 3));
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 16));
const E2E_EVENTS = Math.ceil(num('BENCH_E2E_EVENTS', QUICK ? 5000 : 30000) / 100) * 100;
const BREAKDOWN_EVENTS = Math.round(num('BENCH_BREAKDOWN_EVENTS', QUICK ? 4000 : 10000));
const PORT_BASE = Math.round(num('BENCH_PORT', 3401));
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? join(ROOT, 'dist', 'main.js'));
const ADMIN_DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PROFILE = env.BENCH_PROFILE === '1';
/** Extra flags for the service's node, e.g. V8 memory settings to try (`--max-semi-space-size=4`). */
const SERVICE_NODE_ARGS = (env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** The runtime environment of the service's image (memory settings): the service runs as shipped; `0`: without it. */
const IMAGE_ENV = env.BENCH_IMAGE_ENV === '0' ? {} : imageRuntimeEnv(ROOT);
/** The node flags of the image's CMD (V8's heap growth), before BENCH_SERVICE_NODE_ARGS; `BENCH_IMAGE_ENV=0`: none. */
const IMAGE_NODE_ARGS = env.BENCH_IMAGE_ENV === '0' ? [] : imageNodeArgs(ROOT);
/** Extra environment for every service process, e.g. `INTAKE_MAX_BYTES=16mb` to try a knob. */
const SERVICE_ENV = Object.fromEntries(
  (env.BENCH_SERVICE_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'a,g,b,c,e,d,h,o,s').split(',').map((s) => s.trim());
/** Consumer settings of every scenario but (f): the service's own defaults unless BENCH_CONSUMER=P/B. */
const DEFAULT_CONSUMER = (() => {
  if (env.BENCH_CONSUMER === undefined) {
    const defaults = validateEnv({ WEBHOOK_SECRETS: BENCH_SECRET });
    return { prefetch: defaults.CONSUMER_PREFETCH, batch: defaults.CONSUMER_BATCH_SIZE };
  }
  const match = /^(\d+)\/(\d+)$/.exec(env.BENCH_CONSUMER);
  if (!match) throw new Error('BENCH_CONSUMER must look like 500/250 (prefetch/batch)');
  return { prefetch: Number(match[1]), batch: Number(match[2]) };
})();
type Consumer = typeof DEFAULT_CONSUMER;
/** (f), only when asked for (BENCH_SCENARIOS=…,f): consumer settings tried end-to-end besides the defaults. */
const CONSUMER_SWEEP = QUICK
  ? [{ prefetch: 20, batch: 5 }]
  : [
      { prefetch: 10, batch: 1 },
      { prefetch: 20, batch: 5 },
      { prefetch: 2000, batch: 1000 },
    ];
/**
 * (d) also runs the service with tracing on and with one HTTP destination; `BENCH_D_EXTRAS=0` leaves
 * them out (e.g. to compare another build, `BENCH_SERVICE_MAIN`, that has neither).
 */
const D_EXTRAS = env.BENCH_D_EXTRAS !== '0';
/** (g) at this many requests per second instead of half of (a)'s rate; (a) is then not run for it. */
const G_RATE = env.BENCH_G_RATE ? Number(env.BENCH_G_RATE) : undefined;
/** (o): connections of the overload runs. */
const OVERLOAD_SINGLE_CONNECTIONS = 256;
const OVERLOAD_BATCH_CONNECTIONS = 64;
/** (o) burst: this many connections open at once, each sending 500-event batches (memory under a flood). */
const OVERLOAD_BURST_CONNECTIONS = 2500;
const OVERLOAD_BURST_S = 5;
/** Dotdigital counts a delivery as failed after 10 s. */
const SENDER_TIMEOUT_S = 10;

const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const load1 = () => loadavg()[0];

// ------------------------------------------------------------------ deployments

/** bench/reference/*.ts as plain JavaScript (no ts-node in their processes), next to node_modules. */
function buildReferences(): Record<'server' | 'bare', string> {
  const dir = join(ROOT, '.build-bench', 'reference');
  mkdirSync(dir, { recursive: true });
  for (const name of ['server', 'bare', 'bare-store', 'receiver']) {
    const source = readFileSync(join(ROOT, 'bench', 'reference', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    writeFileSync(join(dir, `${name}.js`), outputText);
  }
  return { server: join(dir, 'server.js'), bare: join(dir, 'bare.js') };
}

let profileCount = 0;
function nodeArgsFor(proc: ServerProcess): string[] {
  if (proc.spec.command) return [];
  const profileArgs = PROFILE
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        join(RESULTS, 'profiles'),
        '--cpu-prof-name',
        `${proc.spec.name}-${++profileCount}.cpuprofile`,
      ]
    : [];
  return [
    ...profileArgs,
    ...(proc.spec.args[0] === SERVICE_MAIN ? [...IMAGE_NODE_ARGS, ...SERVICE_NODE_ARGS] : []),
  ];
}

async function start(target: Deployment, consumer: Consumer = DEFAULT_CONSUMER): Promise<void> {
  await target.start(
    { CONSUMER_PREFETCH: String(consumer.prefetch), CONSUMER_BATCH_SIZE: String(consumer.batch) },
    nodeArgsFor,
  );
  if (!target.spec.consumes) return;
  const deadline = Date.now() + 60000;
  for (;;) {
    const state = await infra.queueState(target.spec.queue);
    if (state && state.consumers > 0) return;
    if (Date.now() > deadline)
      throw new Error(`${target.name}: no consumer on ${target.spec.queue} within 60 s`);
    await sleep(100);
  }
}

// ------------------------------------------------------------------ measuring

let infra: Infra;
let feedBroker: ChannelModel | undefined;
const runs: RunRecord[] = [];
/** The HTTP endpoint of a deployment with a destination: (d) waits until it has every event. */
const sinks = new Map<Deployment, Awaited<ReturnType<typeof startDestinationSink>>>();
const errors: string[] = [];
/** The queue bound with `#` to each feed exchange, for "POST to message". */
const feedQueues = new Map<string, string>();

async function feedQueueOf(target: Deployment): Promise<string | undefined> {
  const exchange = target.spec.eventsExchange;
  if (!exchange) return undefined;
  let queue = feedQueues.get(exchange);
  if (!queue) {
    queue = `${exchange}.bench-all`;
    const channel = await feedBroker!.createChannel();
    // As the service declares it, so the binding can exist before it starts.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, '#');
    await channel.close();
    infra.track([queue], [exchange]);
    feedQueues.set(exchange, queue);
  }
  return queue;
}

/** A service with its feed on (the bare floor's feed has no outbox). */
const hasOutbox = (target: Deployment) => target.spec.kind === 'service' && !!target.spec.eventsExchange;

async function outboxEvents(target: Deployment): Promise<number> {
  const db = await infra.db(target.spec.database);
  const { rows } = await db.query<{ n: string }>(
    'SELECT coalesce(sum(cardinality(event_ids)), 0) AS n FROM feed_outbox',
  );
  return Number(rows[0].n);
}

/** Samples the outbox every 100 ms (a service with the feed on); the returned function gives the peak. */
function sampleOutbox(target: Deployment): () => Promise<number | undefined> {
  if (!hasOutbox(target)) return () => Promise.resolve(undefined);
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await outboxEvents(target).catch(() => 0));
      await sleep(100);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return peak;
  };
}

/**
 * Waits until `target` has nothing left to do: optionally purges its queue, then (when it consumes)
 * sends one fresh event and waits for its row, and for its feed to be published. The consumer works
 * in queue order, so once that row is there every delivery taken before it is committed too.
 */
async function settle(target: Deployment, purge: boolean): Promise<void> {
  if (purge || !target.spec.consumes) await infra.purge(target.spec.queue);
  if (!target.spec.consumes) return;
  const [sentinel] = signedBodies(newTag('s'), 1, 1);
  const eventId = (JSON.parse(sentinel.body.toString()) as { eventId: string }).eventId;
  const posted = await postAll(target.url, [sentinel], 1);
  if (posted.ok !== 1) throw new Error(`${target.name}: settle delivery not accepted`);
  const db = await infra.db(target.spec.database);
  const deadline = Date.now() + 300000;
  while (Date.now() < deadline) {
    const { rowCount } = await db.query('SELECT 1 FROM webhook_events WHERE event_id = $1', [eventId]);
    if (rowCount) {
      if (hasOutbox(target))
        while ((await outboxEvents(target)) > 0 && Date.now() < deadline) await sleep(50);
      const feedQueue = await feedQueueOf(target);
      if (feedQueue) await infra.purge(feedQueue);
      return;
    }
    if (!target.running) throw new Error(`${target.name} exited:\n${target.output}`);
    await sleep(100);
  }
  throw new Error(`${target.name}: its queue was not worked off within 300 s:\n${target.output}`);
}

interface LoadShape {
  overallRate?: number;
  connections?: number;
  durationS?: number;
  timeoutS?: number;
}

async function loadRun(
  target: Deployment,
  scenario: string,
  round: number,
  bodies: readonly SignedBody[],
  shape: LoadShape = {},
): Promise<RunRecord> {
  const load = load1();
  const stopSampling = target.sampleRss();
  const stopOutbox = sampleOutbox(target);
  const cpuBefore = target.cpuSeconds();
  let outcome: LoadOutcome;
  let cpuSeconds: number;
  let peakKiB = 0;
  let outboxPeak: number | undefined;
  let backlog: number | undefined;
  try {
    outcome = await runLoad({
      url: target.url,
      bodies,
      connections: shape.connections ?? CONNECTIONS,
      durationS: shape.durationS ?? DURATION_S,
      overallRate: shape.overallRate,
      timeoutS: shape.timeoutS,
    });
    cpuSeconds = target.cpuSeconds() - cpuBefore;
    if (target.spec.consumes) backlog = (await infra.queueState(target.spec.queue))?.messages;
    await settle(target, true); // the consumer's backlog counts for memory too
  } finally {
    peakKiB = stopSampling();
    outboxPeak = await stopOutbox();
  }
  const batchSize = bodies[0].events;
  const record: RunRecord = {
    scenario,
    target: target.name,
    round,
    batchSize,
    durationS: outcome.durationS,
    requests: outcome.ok + outcome.non2xx,
    reqPerSec: outcome.ok / outcome.durationS,
    eventsPerSec: (outcome.ok * batchSize) / outcome.durationS,
    p50Ms: outcome.p50Ms,
    p99Ms: outcome.p99Ms,
    maxMs: outcome.maxMs,
    non2xx: outcome.non2xx,
    errors: outcome.errors,
    timeouts: outcome.timeouts,
    statusCodes: outcome.statusCodes,
    peakRssMiB: peakKiB / MiB,
    cpuSeconds,
    offeredRate: shape.overallRate,
    load1: load,
    outboxPeak,
    backlog,
  };
  log(
    `${scenario} ${target.name} r${round}: ${record.reqPerSec.toFixed(0)} req/s, ${record.eventsPerSec.toFixed(0)} ev/s, ` +
      `p50 ${outcome.p50Ms} ms, p99 ${outcome.p99Ms} ms, max ${outcome.maxMs} ms, non-2xx ${outcome.non2xx} ` +
      `${JSON.stringify(outcome.statusCodes)}, errors ${outcome.errors} (timeouts ${outcome.timeouts}), ` +
      `rss ${record.peakRssMiB.toFixed(0)} MiB, cpu ${cpuSeconds.toFixed(1)} s, load ${load.toFixed(2)}` +
      (outboxPeak !== undefined ? `, outbox peak ${outboxPeak}` : '') +
      (backlog !== undefined ? `, ${backlog} deliveries left in the queue` : ''),
  );
  return record;
}

/**
 * POSTs `E2E_EVENTS` unique events as 100-event batches; measures until every row is stored (and,
 * with the feed on, until every event is on the `#` queue).
 */
async function e2eRun(target: Deployment, scenario: string, round: number): Promise<RunRecord> {
  const load = load1();
  const db = await infra.db(target.spec.database);
  await db.query('TRUNCATE webhook_events, entity_revisions');
  const feedQueue = await feedQueueOf(target);
  const sink = sinks.get(target);
  sink?.reset();
  const tag = newTag('e');
  const bodies = signedBodies(tag, 100, E2E_EVENTS / 100);
  const ids = Array.from({ length: E2E_EVENTS }, (_, k) => `${tag}-e${k}`);
  const stopSampling = target.sampleRss();
  const stopOutbox = sampleOutbox(target);
  const cpuBefore = target.cpuSeconds();
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const posted = await postAll(target.url, bodies, CONNECTIONS);
  const timeoutMs = Math.max(120000, E2E_EVENTS * 10);
  let rows = 0;
  let timedOut = false;
  let totalS = 0;
  let feedS: number | undefined;
  let destinationS: number | undefined;
  for (const deadline = Date.now() + timeoutMs; ; await sleep(50)) {
    if (totalS === 0) {
      rows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM webhook_events')).rows[0].n);
      if (rows >= E2E_EVENTS) totalS = seconds();
    }
    if (totalS > 0 && feedQueue && feedS === undefined) {
      const state = await infra.queueState(feedQueue);
      if ((state?.messages ?? 0) >= E2E_EVENTS) feedS = seconds();
    }
    if (totalS > 0 && sink && destinationS === undefined && sink.received() >= E2E_EVENTS)
      destinationS = seconds();
    if (totalS > 0 && (!feedQueue || feedS !== undefined) && (!sink || destinationS !== undefined)) break;
    if (Date.now() > deadline || !target.running) {
      timedOut = true;
      totalS ||= seconds();
      break;
    }
  }
  const peakKiB = stopSampling();
  const outboxPeak = await stopOutbox();
  const cpuSeconds = target.cpuSeconds() - cpuBefore;
  await sleep(200); // a late duplicate would show up now
  const check = (
    await db.query<{ rows: string; distinct: string; found: string }>(
      `SELECT count(*) AS rows, count(DISTINCT event_id) AS distinct,
              count(*) FILTER (WHERE event_id = ANY($1::text[])) AS found FROM webhook_events`,
      [ids],
    )
  ).rows[0];
  const revisions = (
    await db.query<{ n: string; s: string | null }>(
      'SELECT count(*) AS n, sum(revision) AS s FROM entity_revisions',
    )
  ).rows[0];
  const expected = expectedRevisions(E2E_EVENTS);
  const revisionsOk =
    Number(revisions.n) === expected.entities && Number(revisions.s) === expected.revisionSum;
  const e2e = {
    sent: E2E_EVENTS,
    rows: Number(check.rows),
    distinct: Number(check.distinct),
    sentFound: Number(check.found),
    revisionsOk,
    exactlyOnce: false,
    ingestS: posted.durationS,
    totalS,
    timedOut,
  };
  e2e.exactlyOnce =
    posted.ok === bodies.length &&
    e2e.rows === E2E_EVENTS &&
    e2e.distinct === E2E_EVENTS &&
    e2e.sentFound === E2E_EVENTS &&
    revisionsOk;
  const record: RunRecord = {
    scenario,
    target: target.name,
    round,
    batchSize: 100,
    durationS: totalS,
    requests: bodies.length,
    reqPerSec: bodies.length / totalS,
    eventsPerSec: E2E_EVENTS / totalS,
    p50Ms: null,
    p99Ms: null,
    non2xx: posted.non2xx,
    errors: posted.errors,
    peakRssMiB: peakKiB / MiB,
    cpuSeconds,
    prefetch: Number(target.consumerEnv.CONSUMER_PREFETCH),
    consumerBatch: Number(target.consumerEnv.CONSUMER_BATCH_SIZE),
    load1: load,
    outboxPeak,
    feedS,
    destinationS,
    e2e,
  };
  log(
    `${scenario} ${target.name} r${round}: ${E2E_EVENTS} events stored in ${totalS.toFixed(2)} s ` +
      `(${record.eventsPerSec.toFixed(0)} ev/s; POSTs took ${posted.durationS.toFixed(2)} s)` +
      (feedS !== undefined
        ? `, on the # queue in ${feedS.toFixed(2)} s (${(E2E_EVENTS / feedS).toFixed(0)} ev/s)`
        : '') +
      (destinationS !== undefined
        ? `, at the destination in ${destinationS.toFixed(2)} s (${(E2E_EVENTS / destinationS).toFixed(0)} ev/s)`
        : '') +
      `, exactly once: ${e2e.exactlyOnce}, rss ${record.peakRssMiB.toFixed(0)} MiB, cpu ${cpuSeconds.toFixed(1)} s, ` +
      `load ${load.toFixed(2)}` +
      (outboxPeak !== undefined ? `, outbox peak ${outboxPeak}` : ''),
  );
  await settle(target, false);
  return record;
}

/** ABBA…: the deployments in order in even rounds, reversed in odd ones, so drift hits all alike. */
async function alternate(
  targets: Deployment[],
  scenario: string,
  one: (target: Deployment, round: number) => Promise<RunRecord>,
  rounds = ROUNDS,
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse())
      runs.push(await one(target, round));
  }
}

function summaryOf(scenario: string, target: string): Summary | undefined {
  const mine = runs.filter((r) => r.scenario === scenario && r.target === target);
  return mine.length ? summarize(mine) : undefined;
}

// ------------------------------------------------------------------ main

let breakdown: BreakdownLine[] = [];

async function main(): Promise<void> {
  const began = Date.now();
  infra = new Infra(ADMIN_DATABASE_URL, AMQP_URL);
  await infra.connect();
  feedBroker = await connect(AMQP_URL, { clientProperties: { connection_name: 'bench-feed' } });
  feedBroker.on('error', () => undefined);
  const versions = await infra.versions();
  const nginx = nginxBinary();
  const machine: Machine = {
    date: new Date().toISOString(),
    cpu:
      /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ??
      cpus()[0]?.model ??
      'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 1024 ** 3,
    os: `${type()} ${release()}`,
    node: process.version,
    postgres: versions.postgres,
    rabbitmq: versions.rabbitmq,
    nginx: nginx ? spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr.trim() : undefined,
    loadAverageStart: loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  };
  const settings: Settings = {
    mode: QUICK ? 'quick' : 'full',
    durationS: DURATION_S,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    e2eEvents: E2E_EVENTS,
    serviceMain: SERVICE_MAIN,
    scenarios: SCENARIOS,
    breakdownEvents: BREAKDOWN_EVENTS,
    consumer: DEFAULT_CONSUMER,
    consumerSweep: CONSUMER_SWEEP,
    overloadConnections: { single: OVERLOAD_SINGLE_CONNECTIONS, batch: OVERLOAD_BATCH_CONNECTIONS },
  };
  log(`${settings.mode} mode: ${JSON.stringify(settings)}`);
  const want = (s: string) => SCENARIOS.includes(s);

  const tag = newTag('bench_');
  const references = buildReferences();
  const common = { WEBHOOK_SECRETS: BENCH_SECRET, AMQP_URL, PUBLISH_TIMEOUT_MS: '5000' };
  let port = PORT_BASE;
  /** A service deployment of its own (database, prefix): one process per role given. */
  const serviceDeployment = async (
    name: string,
    key: string,
    roles: ('all' | 'api' | 'worker')[],
    extra: Record<string, string> = {},
  ): Promise<Deployment> => {
    const database = `${tag}_${key}`;
    const prefix = `bench-${tag}-${key}`;
    infra.track(
      [`${prefix}.deliveries`, `${prefix}.deliveries.dead-letter`],
      [`${prefix}.deliveries`, `${prefix}.dead-letter`, `${prefix}.events`],
    );
    const url = await infra.createDatabase(database);
    const procs = roles.map(
      (role, i) =>
        new ServerProcess({
          name: `${key}-${role}${roles.length > 1 ? i : ''}`,
          port: port++,
          args: [SERVICE_MAIN],
          readyPath: '/health/ready',
          env: {
            ...common,
            APP_ROLE: role,
            LOG_LEVEL: 'warn',
            DATABASE_URL: url,
            AMQP_PREFIX: prefix,
            ...IMAGE_ENV,
            ...SERVICE_ENV,
            ...extra,
          },
        }),
    );
    const feedOn = extra.FEED_ENABLED !== 'false' && roles.some((r) => r !== 'api');
    return new Deployment({
      name,
      kind: 'service',
      procs,
      entry: procs.find((p) => p.spec.env.APP_ROLE !== 'worker')!,
      measured: procs,
      database,
      queue: `${prefix}.deliveries`,
      consumes: roles.some((r) => r !== 'api'),
      eventsExchange: feedOn ? `${prefix}.events` : undefined,
    });
  };
  /** The bare floor or the reference; `feed`: the bare floor publishing each stored event as the feed does. */
  const floorDeployment = async (kind: 'bare' | 'reference', feed = false): Promise<Deployment> => {
    const key = feed ? 'barefeed' : kind;
    const database = `${tag}_${key}`;
    const prefix = `bench-${tag}-${key}`;
    const eventsExchange = feed ? `${prefix}.events` : undefined;
    infra.track([`${prefix}.deliveries`], eventsExchange ? [eventsExchange] : []);
    const proc = new ServerProcess({
      name: key,
      port: port++,
      args: [kind === 'bare' ? references.bare : references.server],
      readyPath: '/health',
      env: {
        ...common,
        DATABASE_URL: await infra.createDatabase(database),
        AMQP_PREFIX: prefix,
        ...(eventsExchange ? { FEED_EXCHANGE: eventsExchange } : {}),
      },
    });
    return new Deployment({
      name: feed ? 'bare, feed on' : kind,
      kind,
      procs: [proc],
      entry: proc,
      measured: [proc],
      database,
      queue: `${prefix}.deliveries`,
      consumes: true,
      eventsExchange,
    });
  };

  const service = await serviceDeployment('service', 'service', ['all']);
  const bare = await floorDeployment('bare');
  const reference = await floorDeployment('reference');
  const main3 = [service, bare, reference];
  const feedOff =
    want('d') || want('f')
      ? await serviceDeployment('service, feed off', 'nofeed', ['all'], { FEED_ENABLED: 'false' })
      : undefined;
  const bareFeed = want('d') ? await floorDeployment('bare', true) : undefined;
  /** (d) with OpenTelemetry on, every span exported (parent-based, always on) to a sink on loopback. */
  const otlpSink = want('d') && D_EXTRAS ? await startOtlpSink() : undefined;
  const traced = otlpSink
    ? await serviceDeployment('service, traced', 'traced', ['all'], {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink.url,
        OTEL_SERVICE_NAME: 'bench',
      })
    : undefined;
  /** (d) with one HTTP destination filtering `#`, a local endpoint answering at once. */
  const destinationSink = want('d') && D_EXTRAS ? await startDestinationSink() : undefined;
  const withDestination = destinationSink
    ? await serviceDeployment('service, destination', 'dest', ['all'], {
        DESTINATIONS_FILE: destinationSink.file,
      })
    : undefined;
  if (withDestination && destinationSink) sinks.set(withDestination, destinationSink);
  const split1 = want('s') ? await serviceDeployment('api + 1 worker', 'w1', ['api', 'worker']) : undefined;
  const split2 = want('s')
    ? await serviceDeployment('api + 2 workers', 'w2', ['api', 'worker', 'worker'])
    : undefined;
  /** (s2): two api processes on one queue (no consumer: ingest only), nginx with one or both as upstream. */
  let nginx1: Deployment | undefined;
  let nginx2: Deployment | undefined;
  const nginxDirs: (() => void)[] = [];
  if (want('s') && nginx) {
    const apis = await serviceDeployment('apis', 'lb', ['api', 'api']);
    const [api1, api2] = apis.spec.procs;
    const one = nginxProcess(port++, [api1.spec.port]);
    const two = nginxProcess(port++, [api1.spec.port, api2.spec.port]);
    nginxDirs.push(one.remove, two.remove);
    const spec = { ...apis.spec, consumes: false, eventsExchange: undefined };
    nginx1 = new Deployment({
      ...spec,
      name: 'nginx → 1 api',
      procs: [api1, one.proc],
      entry: one.proc,
      measured: [api1],
    });
    nginx2 = new Deployment({
      ...spec,
      name: 'nginx → 2 apis',
      procs: [api1, api2, two.proc],
      entry: two.proc,
      measured: [api1, api2],
    });
  } else if (want('s')) errors.push('(s) ingest through nginx skipped: nginx is not installed');
  const everything = [
    service,
    bare,
    reference,
    feedOff,
    bareFeed,
    traced,
    withDestination,
    split1,
    split2,
    nginx1,
    nginx2,
  ].filter((d): d is Deployment => d !== undefined);
  if (PROFILE) mkdirSync(join(RESULTS, 'profiles'), { recursive: true });

  const pools = {
    1: signedBodies(newTag('p'), 1, QUICK ? 1000 : 4000),
    10: signedBodies(newTag('p'), 10, 1000),
    100: signedBodies(newTag('p'), 100, 200),
    500: signedBodies(newTag('p'), 500, 40),
  };
  /** Fresh processes for every scenario: its peak RSS is its own, and no heap is inherited. */
  const fresh = async (targets: Deployment[], consumer: Consumer = DEFAULT_CONSUMER) => {
    for (const target of everything) await target.stop();
    for (const target of targets) {
      await start(target, consumer);
      await runLoad({
        url: target.url,
        bodies: pools[1],
        connections: CONNECTIONS,
        durationS: QUICK ? 1 : 2,
      });
      await settle(target, true);
    }
  };
  const scenario = async (
    key: string,
    targets: Deployment[],
    one: (t: Deployment, round: number) => Promise<RunRecord>,
    rounds = ROUNDS,
  ) => {
    log(`${SCENARIO_TITLES[key] ?? key}: starting ${targets.map((t) => t.name).join(', ')} afresh`);
    await fresh(targets);
    await alternate(targets, key, one, rounds);
  };

  try {
    if (want('a') || (want('g') && G_RATE === undefined) || want('o'))
      await scenario('a', main3, (t, r) => loadRun(t, 'a', r, pools[1]));
    const maxSingle = Math.max(1, summaryOf('a', 'service')?.reqPerSec ?? 0);
    if (want('g')) {
      const rate = G_RATE ?? Math.round(maxSingle / 2);
      log(
        `(g) offered rate ${rate} req/s (${G_RATE ? 'BENCH_G_RATE' : "half of the service's (a) median"}) to each`,
      );
      await scenario('g', [service, bare], (t, r) => loadRun(t, 'g', r, pools[1], { overallRate: rate }));
    }
    if (want('e'))
      await scenario('e10', main3, (t, r) => loadRun(t, 'e10', r, pools[10]), Math.min(ROUNDS, 2));
    if (want('b') || want('e')) await scenario('b', main3, (t, r) => loadRun(t, 'b', r, pools[100]));
    if (want('c') || want('e') || want('o'))
      await scenario('c', main3, (t, r) => loadRun(t, 'c', r, pools[500]));
    if (want('d') || want('f')) {
      await scenario(
        'd',
        [service, bare, reference, feedOff!, bareFeed!, traced, withDestination].filter(
          (d): d is Deployment => d !== undefined,
        ),
        (t, r) => e2eRun(t, 'd', r),
      );
    }
    if (want('f')) {
      for (const consumer of CONSUMER_SWEEP) {
        const key = `f-${consumer.prefetch}-${consumer.batch}`;
        log(
          `(f) CONSUMER_PREFETCH=${consumer.prefetch} CONSUMER_BATCH_SIZE=${consumer.batch}: starting afresh`,
        );
        await fresh(main3, consumer);
        await alternate(main3, key, (t, r) => e2eRun(t, key, r));
      }
    }
    if (want('o')) {
      const rate = Math.round(maxSingle * 2);
      log(`(o) overload: ${rate} req/s of single events offered (2× the service's (a) median), 10 s timeout`);
      await scenario(
        'o1',
        [service],
        (t, r) =>
          loadRun(t, 'o1', r, pools[1], {
            overallRate: rate,
            connections: OVERLOAD_SINGLE_CONNECTIONS,
            timeoutS: SENDER_TIMEOUT_S,
          }),
        Math.min(ROUNDS, 2),
      );
      log(`(o) overload: 500-event batches from ${OVERLOAD_BATCH_CONNECTIONS} connections, 10 s timeout`);
      await scenario(
        'o2',
        [service],
        (t, r) =>
          loadRun(t, 'o2', r, pools[500], {
            connections: OVERLOAD_BATCH_CONNECTIONS,
            timeoutS: SENDER_TIMEOUT_S,
          }),
        Math.min(ROUNDS, 2),
      );
      log(
        `(o) burst: ${OVERLOAD_BURST_CONNECTIONS} connections at once, each POSTing 500-event batches for ` +
          `${OVERLOAD_BURST_S} s, 10 s timeout`,
      );
      await scenario(
        'o3',
        [service],
        (t, r) =>
          loadRun(t, 'o3', r, pools[500], {
            connections: OVERLOAD_BURST_CONNECTIONS,
            durationS: OVERLOAD_BURST_S,
            timeoutS: SENDER_TIMEOUT_S,
          }),
        1,
      );
    }
    if (want('s')) {
      await scenario('s1', [split1!, split2!], (t, r) => e2eRun(t, 's1', r));
      if (nginx1 && nginx2) await scenario('s2', [nginx1, nginx2], (t, r) => loadRun(t, 's2', r, pools[1]));
    }
    if (want('h')) {
      for (const target of everything) await target.stop();
      log(`${SCENARIO_TITLES.h}: in this process, ${BREAKDOWN_EVENTS} events per variant and round`);
      breakdown = await runBreakdown({
        adminUrl: ADMIN_DATABASE_URL,
        events: BREAKDOWN_EVENTS,
        rounds: ROUNDS,
        log,
      });
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    errors.push(`aborted: ${message}`);
    log(`ABORTED: ${message}`);
    for (const target of everything) if (target.output) log(`${target.name} output tail:\n${target.output}`);
  } finally {
    for (const target of everything) await target.stop();
    for (const remove of nginxDirs) remove();
    if (otlpSink) {
      const spans = [...otlpSink.spans()].map(([name, count]) => `${name} ${count}`).join(', ');
      log(`tracing: ${otlpSink.exports()} OTLP exports received from the traced deployment; spans: ${spans}`);
    }
    await otlpSink?.close();
    await destinationSink?.close();
    await feedBroker?.close().catch(() => undefined);
    const problems = await infra.cleanUp();
    for (const problem of problems) errors.push(`clean-up: ${problem}`);
    log(problems.length ? `clean-up problems: ${problems.join('; ')}` : 'databases and queues removed');
  }

  machine.loadAverageEnd = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  settings.totalSeconds = (Date.now() - began) / 1000;
  writeResults(machine, settings, service);
  if (PROFILE) {
    for (const file of readdirSync(join(RESULTS, 'profiles')).filter((f) => f.endsWith('.cpuprofile')))
      log(`profile ${file}:\n${summariseProfile(join(RESULTS, 'profiles', file), 30)}`);
  }
}

// ------------------------------------------------------------------ results

/** Writes the run's data (latest.json) and the tables rendered from it (latest.md, also on stdout). */
function writeResults(machine: Machine, settings: Settings, service: Deployment): void {
  const results: BenchResults = {
    machine,
    settings,
    runs,
    breakdown,
    errors,
    serviceLifetimePeakKiB: service.lifetimePeakKiB,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const md = renderResults(results);
  writeFileSync(join(RESULTS, 'latest.md'), md);
  process.stdout.write(md);
  log('wrote bench/results/latest.json and bench/results/latest.md');
}

// Ctrl-C / SIGTERM: the children are stopped and the databases and queues removed.
runBench(
  'bench',
  main,
  () => infra?.cleanUp(),
  (signal) => errors.push(`interrupted by ${signal}`),
);
