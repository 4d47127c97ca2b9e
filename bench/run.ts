/**
 * `npm run bench`: the service (dist/main.js, or BENCH_SERVICE_MAIN) against the bare reference
 * (bench/reference/server.ts), both APP_ROLE=all-style (HTTP + consumer in one process), on the same
 * PostgreSQL and RabbitMQ, each with its own database and queue names, alternating the two run by run.
 * Writes bench/results/latest.md (+ stdout), bench/results/latest.json and docs/bench-batch-sweep.svg.
 * Knobs: see docs/performance.md.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ts from 'typescript';
import { validateEnv } from '../src/config/env.schema';
import { BENCH_SECRET, expectedRevisions, newTag, signedBodies, type SignedBody } from './lib/bodies';
import { Infra } from './lib/infra';
import { postAll, runLoad, type LoadOutcome } from './lib/load';
import { killAll, ServerProcess } from './lib/proc';
import {
  markdown,
  ratio,
  SCENARIO_TITLES,
  sweepSvg,
  type Check,
  type Machine,
  type Row,
  type Settings,
} from './lib/report';
import { summarize, type RunRecord, type Summary, type TargetName } from './lib/stats';
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
const DURATION_S = num('BENCH_DURATION', QUICK ? 3 : 10);
const ROUNDS = Math.round(num('BENCH_ROUNDS', QUICK ? 1 : 3));
const CONNECTIONS = Math.round(num('BENCH_CONNECTIONS', 16));
const E2E_EVENTS = Math.ceil(num('BENCH_E2E_EVENTS', QUICK ? 5000 : 20000) / 100) * 100;
const PORT_BASE = Math.round(num('BENCH_PORT', 3401));
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? join(ROOT, 'dist', 'main.js'));
const ADMIN_DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PROFILE = env.BENCH_PROFILE === '1';
/** Extra flags for the service's node, e.g. V8 memory settings to try (`--max-semi-space-size=4`). */
const SERVICE_NODE_ARGS = (env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'a,g,b,c,e,d,f').split(',').map((s) => s.trim());
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
/** (f): consumer settings tried end-to-end besides DEFAULT_CONSUMER (which (d) measures). */
const CONSUMER_SWEEP = QUICK
  ? [{ prefetch: 20, batch: 5 }]
  : [
      { prefetch: 10, batch: 1 },
      { prefetch: 20, batch: 5 },
      { prefetch: 100, batch: 50 },
      { prefetch: 2000, batch: 1000 },
    ];

const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ------------------------------------------------------------------ targets

interface Target {
  name: TargetName;
  proc: ServerProcess;
  database: string;
  queue: string;
  consumerEnv: Record<string, string>;
}

/** The reference is TypeScript; a plain transpile (no ts-node in its process) next to node_modules. */
function buildReference(): string {
  const source = readFileSync(join(ROOT, 'bench', 'reference', 'server.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const dir = join(ROOT, '.build-bench', 'reference');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'server.js');
  writeFileSync(file, outputText);
  return file;
}

let profileCount = 0;
async function start(target: Target, consumer = DEFAULT_CONSUMER): Promise<void> {
  target.consumerEnv = {
    CONSUMER_PREFETCH: String(consumer.prefetch),
    CONSUMER_BATCH_SIZE: String(consumer.batch),
  };
  const profileArgs = PROFILE
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        join(RESULTS, 'profiles'),
        '--cpu-prof-name',
        `${target.name}-${++profileCount}.cpuprofile`,
      ]
    : [];
  const nodeArgs = target.name === 'service' ? SERVICE_NODE_ARGS : [];
  await target.proc.start(target.consumerEnv, [...profileArgs, ...nodeArgs]);
  await waitForConsumer(target);
}

async function waitForConsumer(target: Target): Promise<void> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const state = await infra.queueState(target.queue);
    if (state && state.consumers > 0) return;
    if (Date.now() > deadline) throw new Error(`${target.name}: no consumer on ${target.queue} within 60 s`);
    await sleep(100);
  }
}

// ------------------------------------------------------------------ measuring

let infra: Infra;
const runs: RunRecord[] = [];
const errors: string[] = [];

/**
 * Waits until `target` has nothing left to do: optionally purges its queue, then sends one fresh
 * event and waits for its row. The consumer works in queue order, so once that row is there every
 * delivery taken before it is committed too.
 */
async function settle(target: Target, purge: boolean): Promise<void> {
  if (purge) await infra.purge(target.queue);
  const [sentinel] = signedBodies(newTag('s'), 1, 1);
  const eventId = (JSON.parse(sentinel.body.toString()) as { eventId: string }).eventId;
  const posted = await postAll(target.proc.url, [sentinel], 1);
  if (posted.ok !== 1) throw new Error(`${target.name}: settle delivery not accepted`);
  const db = await infra.db(target.database);
  const deadline = Date.now() + 300000;
  while (Date.now() < deadline) {
    const { rowCount } = await db.query('SELECT 1 FROM webhook_events WHERE event_id = $1', [eventId]);
    if (rowCount) return;
    if (!target.proc.running) throw new Error(`${target.name} exited:\n${target.proc.output}`);
    await sleep(100);
  }
  throw new Error(`${target.name}: its queue was not worked off within 300 s:\n${target.proc.output}`);
}

async function loadRun(
  target: Target,
  scenario: string,
  round: number,
  bodies: readonly SignedBody[],
  overallRate?: number,
  durationS = DURATION_S,
): Promise<RunRecord> {
  const stopSampling = target.proc.sampleRss();
  const cpuBefore = target.proc.cpuSeconds();
  let outcome: LoadOutcome;
  let cpuSeconds: number;
  let peakKiB = 0;
  try {
    outcome = await runLoad({
      url: target.proc.url,
      bodies,
      connections: CONNECTIONS,
      durationS,
      overallRate,
    });
    cpuSeconds = target.proc.cpuSeconds() - cpuBefore;
    await settle(target, true); // the consumer's backlog counts for memory too
  } finally {
    peakKiB = stopSampling();
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
    non2xx: outcome.non2xx,
    errors: outcome.errors,
    statusCodes: outcome.statusCodes,
    peakRssMiB: peakKiB / MiB,
    cpuSeconds,
    offeredRate: overallRate,
  };
  log(
    `${scenario} ${target.name} r${round}: ${record.reqPerSec.toFixed(0)} req/s, ${record.eventsPerSec.toFixed(0)} ev/s, ` +
      `p50 ${outcome.p50Ms} ms, p99 ${outcome.p99Ms} ms, non-2xx ${outcome.non2xx}, errors ${outcome.errors}, ` +
      `rss ${record.peakRssMiB.toFixed(0)} MiB, cpu ${cpuSeconds.toFixed(1)} s`,
  );
  return record;
}

/** POSTs `E2E_EVENTS` unique events as 100-event batches; measures until every row is stored. */
async function e2eRun(target: Target, scenario: string, round: number): Promise<RunRecord> {
  const db = await infra.db(target.database);
  await db.query('TRUNCATE webhook_events, entity_revisions');
  const tag = newTag('e');
  const bodies = signedBodies(tag, 100, E2E_EVENTS / 100);
  const ids = Array.from({ length: E2E_EVENTS }, (_, k) => `${tag}-e${k}`);
  const stopSampling = target.proc.sampleRss();
  const cpuBefore = target.proc.cpuSeconds();
  const started = process.hrtime.bigint();
  const posted = await postAll(target.proc.url, bodies, CONNECTIONS);
  const timeoutMs = Math.max(120000, E2E_EVENTS * 10);
  let rows = 0;
  let timedOut = false;
  for (const deadline = Date.now() + timeoutMs; ; await sleep(50)) {
    rows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM webhook_events')).rows[0].n);
    if (rows >= E2E_EVENTS) break;
    if (Date.now() > deadline || !target.proc.running) {
      timedOut = true;
      break;
    }
  }
  const totalS = Number(process.hrtime.bigint() - started) / 1e9;
  const peakKiB = stopSampling();
  const cpuSeconds = target.proc.cpuSeconds() - cpuBefore;
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
    e2e,
  };
  log(
    `${scenario} ${target.name} r${round}: ${E2E_EVENTS} events stored in ${totalS.toFixed(2)} s ` +
      `(${record.eventsPerSec.toFixed(0)} ev/s; POSTs took ${posted.durationS.toFixed(2)} s), ` +
      `exactly once: ${e2e.exactlyOnce}, rss ${record.peakRssMiB.toFixed(0)} MiB`,
  );
  await settle(target, false);
  return record;
}

/** ABBA: service first in even rounds, reference first in odd ones, so drift hits both alike. */
function order(targets: Target[], round: number): Target[] {
  return round % 2 === 0 ? targets : [...targets].reverse();
}

async function alternate(
  targets: Target[],
  scenario: string,
  one: (target: Target, round: number) => Promise<RunRecord>,
): Promise<void> {
  for (let round = 0; round < ROUNDS; round++)
    for (const target of order(targets, round)) runs.push(await one(target, round));
}

function summaryOf(scenario: string, target: TargetName): Summary | undefined {
  const mine = runs.filter((r) => r.scenario === scenario && r.target === target);
  return mine.length ? summarize(mine) : undefined;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const began = Date.now();
  infra = new Infra(ADMIN_DATABASE_URL, AMQP_URL);
  await infra.connect();
  const versions = await infra.versions();
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
  };
  log(`${settings.mode} mode: ${JSON.stringify(settings)}`);

  const tag = newTag('bench_');
  const serviceDb = `${tag}_service`;
  const referenceDb = `${tag}_reference`;
  const servicePrefix = `bench-${tag}-service`;
  const referencePrefix = `bench-${tag}-reference`;
  infra.track(
    [
      `${servicePrefix}.deliveries`,
      `${servicePrefix}.deliveries.dead-letter`,
      `${referencePrefix}.deliveries`,
    ],
    [`${servicePrefix}.deliveries`, `${servicePrefix}.dead-letter`],
  );
  const common = { WEBHOOK_SECRETS: BENCH_SECRET, AMQP_URL, PUBLISH_TIMEOUT_MS: '5000' };
  const service: Target = {
    name: 'service',
    database: serviceDb,
    queue: `${servicePrefix}.deliveries`,
    consumerEnv: {},
    proc: new ServerProcess({
      name: 'service',
      port: PORT_BASE,
      args: [SERVICE_MAIN],
      readyPath: '/health/ready',
      env: {
        ...common,
        APP_ROLE: 'all',
        LOG_LEVEL: 'warn',
        DATABASE_URL: await infra.createDatabase(serviceDb),
        AMQP_PREFIX: servicePrefix,
      },
    }),
  };
  const reference: Target = {
    name: 'reference',
    database: referenceDb,
    queue: `${referencePrefix}.deliveries`,
    consumerEnv: {},
    proc: new ServerProcess({
      name: 'reference',
      port: PORT_BASE + 1,
      args: [buildReference()],
      readyPath: '/health',
      env: {
        ...common,
        DATABASE_URL: await infra.createDatabase(referenceDb),
        AMQP_PREFIX: referencePrefix,
      },
    }),
  };
  const targets = [service, reference];
  if (PROFILE) mkdirSync(join(RESULTS, 'profiles'), { recursive: true });

  const pools = {
    1: signedBodies(newTag('p'), 1, QUICK ? 1000 : 4000),
    10: signedBodies(newTag('p'), 10, 1000),
    100: signedBodies(newTag('p'), 100, 200),
    500: signedBodies(newTag('p'), 500, 40),
  };
  /** Fresh processes for every scenario: its peak RSS is its own, and no heap is inherited. */
  const fresh = async (consumer = DEFAULT_CONSUMER) => {
    for (const target of targets) {
      await target.proc.stop();
      await start(target, consumer);
      await runLoad({
        url: target.proc.url,
        bodies: pools[1],
        connections: CONNECTIONS,
        durationS: QUICK ? 1 : 2,
      });
      await settle(target, true);
    }
  };

  try {
    const want = (s: string) => SCENARIOS.includes(s);
    const scenario = async (
      key: string,
      label: string,
      one: (t: Target, round: number) => Promise<RunRecord>,
    ) => {
      log(`${label}: starting both afresh`);
      await fresh();
      await alternate(targets, key, one);
    };

    if (want('a') || want('g'))
      await scenario('a', SCENARIO_TITLES.a, (t, r) => loadRun(t, 'a', r, pools[1]));
    if (want('g')) {
      const rate = Math.max(1, Math.round((summaryOf('a', 'service')?.reqPerSec ?? 0) / 2));
      log(`(g) offered rate ${rate} req/s (half of the service's (a) median) for both`);
      await scenario('g', SCENARIO_TITLES.g, (t, r) => loadRun(t, 'g', r, pools[1], rate));
    }
    if (want('e')) await scenario('e10', '(e) 10-event batches', (t, r) => loadRun(t, 'e10', r, pools[10]));
    if (want('b') || want('e'))
      await scenario('b', SCENARIO_TITLES.b, (t, r) => loadRun(t, 'b', r, pools[100]));
    if (want('c') || want('e'))
      await scenario('c', SCENARIO_TITLES.c, (t, r) => loadRun(t, 'c', r, pools[500]));
    if (want('d') || want('f')) await scenario('d', SCENARIO_TITLES.d, (t, r) => e2eRun(t, 'd', r));
    if (want('f'))
      for (const consumer of CONSUMER_SWEEP) {
        const key = `f-${consumer.prefetch}-${consumer.batch}`;
        log(
          `(f) CONSUMER_PREFETCH=${consumer.prefetch} CONSUMER_BATCH_SIZE=${consumer.batch}: starting both afresh`,
        );
        await fresh(consumer);
        await alternate(targets, key, (t, r) => e2eRun(t, key, r));
      }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    errors.push(`aborted: ${message}`);
    log(`ABORTED: ${message}`);
    for (const target of targets)
      if (target.proc.output) log(`${target.name} output tail:\n${target.proc.output}`);
  } finally {
    for (const target of targets) await target.proc.stop();
    const problems = await infra.cleanUp();
    for (const problem of problems) errors.push(`clean-up: ${problem}`);
    log(problems.length ? `clean-up problems: ${problems.join('; ')}` : 'databases and queues removed');
  }

  machine.loadAverageEnd = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  settings.totalSeconds = (Date.now() - began) / 1000;
  report(machine, settings, service, reference);
  // Profiles stay in bench/results/profiles (gitignored); their summaries go to stderr.
  if (PROFILE)
    for (const file of readdirSync(join(RESULTS, 'profiles')).filter((f) => f.endsWith('.cpuprofile')))
      log(`profile ${file}:\n${summariseProfile(join(RESULTS, 'profiles', file), 30)}`);
}

function report(machine: Machine, settings: Settings, service: Target, reference: Target): void {
  const row = (scenario: string, label: string, ratioOf: Row['ratioOf'], note?: string): Row => ({
    label,
    ratioOf,
    note,
    service: summaryOf(scenario, 'service'),
    reference: summaryOf(scenario, 'reference'),
  });
  const gRate = runs.find((r) => r.scenario === 'g')?.offeredRate;
  const rows = [
    row('a', SCENARIO_TITLES.a, 'reqPerSec'),
    row('b', SCENARIO_TITLES.b, 'eventsPerSec'),
    row('c', SCENARIO_TITLES.c, 'eventsPerSec'),
    row(
      'd',
      SCENARIO_TITLES.d,
      'eventsPerSec',
      `consumer prefetch ${DEFAULT_CONSUMER.prefetch}, batch ${DEFAULT_CONSUMER.batch}`,
    ),
    row('e10', '(e) 10-event batches', 'eventsPerSec'),
    row('g', SCENARIO_TITLES.g, 'p99Ms', gRate ? `offered ${gRate} req/s to both` : undefined),
  ].filter((r) => r.service || r.reference);
  const consumerSweep = [
    row(
      'd',
      `prefetch ${DEFAULT_CONSUMER.prefetch} / batch ${DEFAULT_CONSUMER.batch} (as in (d))`,
      'eventsPerSec',
    ),
    ...CONSUMER_SWEEP.map((c) =>
      row(`f-${c.prefetch}-${c.batch}`, `prefetch ${c.prefetch} / batch ${c.batch}`, 'eventsPerSec'),
    ),
  ].filter((r) => r.service || r.reference);
  const sweep = [
    { batchSize: 1, scenario: 'a' },
    { batchSize: 10, scenario: 'e10' },
    { batchSize: 100, scenario: 'b' },
    { batchSize: 500, scenario: 'c' },
  ]
    .map(({ batchSize, scenario }) => ({
      batchSize,
      service: summaryOf(scenario, 'service')?.eventsPerSec,
      reference: summaryOf(scenario, 'reference')?.eventsPerSec,
    }))
    .filter((p) => p.service !== undefined || p.reference !== undefined);

  const a = rows.find((r) => r.service?.scenario === 'a');
  const b = rows.find((r) => r.service?.scenario === 'b');
  const d = rows.find((r) => r.service?.scenario === 'd');
  const g = summaryOf('g', 'service');
  const servicePeak = service.proc.lifetimePeakKiB / MiB;
  const f2 = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));
  const checks: Check[] = [
    {
      name: 'single-event ingest req/s, service/reference; non-2xx + errors of the service',
      value: a ? `${f2(ratio(a))}×; ${a.service!.non2xx} non-2xx, ${a.service!.errors} errors` : '—',
      limit: '≥ 0.8×, zero',
      pass: a ? (ratio(a) ?? 0) >= 0.8 && a.service!.non2xx === 0 && a.service!.errors === 0 : null,
    },
    {
      name: '100-event batch ingest events/s, service/reference',
      value: b ? `${f2(ratio(b))}×` : '—',
      limit: '≥ 0.8×',
      pass: b ? (ratio(b) ?? 0) >= 0.8 : null,
    },
    {
      name: 'end-to-end events/s, service/reference; every event stored exactly once',
      value: d
        ? `${f2(ratio(d))}×; exactly once: service ${d.service?.exactlyOnce ? 'yes' : 'NO'}, reference ${d.reference?.exactlyOnce ? 'yes' : 'NO'}`
        : '—',
      limit: '≥ 0.8×, yes',
      pass: d ? (ratio(d) ?? 0) >= 0.8 && d.service?.exactlyOnce === true : null,
    },
    {
      name: 'p99 of single-event POSTs at half the max rate (service)',
      value: g?.p99Ms != null ? `${g.p99Ms} ms at ${g.offeredRate} req/s` : '—',
      limit: '≤ 50 ms',
      pass: g?.p99Ms != null ? g.p99Ms <= 50 : null,
    },
    {
      name: 'peak RSS of the service (whole run)',
      value: servicePeak
        ? `${servicePeak.toFixed(0)} MiB (reference ${(reference.proc.lifetimePeakKiB / MiB).toFixed(0)} MiB)`
        : '—',
      limit: '≤ 256 MiB',
      pass: servicePeak ? servicePeak <= 256 : null,
    },
  ];

  const md = markdown(machine, settings, checks, rows, sweep, consumerSweep, errors);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.md'), md + '\n');
  const summaries = [...new Set(runs.map((r) => r.scenario))].flatMap((s) =>
    (['service', 'reference'] as const).map((t) => summaryOf(s, t)).filter(Boolean),
  );
  writeFileSync(
    join(RESULTS, 'latest.json'),
    JSON.stringify(
      {
        machine,
        settings,
        checks,
        summaries,
        peakRssMiB: { service: servicePeak, reference: reference.proc.lifetimePeakKiB / MiB },
        runs,
        errors,
      },
      null,
      2,
    ) + '\n',
  );
  if (sweep.length)
    writeFileSync(
      join(ROOT, 'docs', 'bench-batch-sweep.svg'),
      sweepSvg(
        sweep,
        `median of ${settings.rounds} round(s), ${settings.durationS} s each, ${settings.connections} connections; ` +
          `${machine.cores} cores, ${machine.date.slice(0, 10)}${settings.mode === 'quick' ? ' (quick mode)' : ''}`,
      ),
    );
  process.stdout.write(md + '\n');
  log(
    `wrote bench/results/latest.md, bench/results/latest.json${sweep.length ? ', docs/bench-batch-sweep.svg' : ''}`,
  );
}

// Ctrl-C / SIGTERM: the finally block above stops the children and removes databases and queues.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping; cleaning up (again to force)`);
    errors.push(`interrupted by ${signal}`);
    killAll();
    void (async () => {
      try {
        await infra?.cleanUp();
      } finally {
        process.exit(130);
      }
    })();
  });

main().catch((err: unknown) => {
  log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  killAll();
  void infra?.cleanUp().finally(() => process.exit(1));
});
