/*
 * `npm run bench:destination` (docs/performance.md § HTTP destinations): the service (APP_ROLE=all,
 * feed on) with one HTTP destination filtering `#`, an endpoint on loopback answering 204 at once.
 *
 * - steady: 100-event batches at BENCH_DEST_RATE events/s (open loop) for BENCH_DEST_DURATION s; the
 *   destination's backlog (pending rows) sampled every 500 ms. It keeps up when the backlog at the
 *   end is no larger than at mid-run plus one second of load, and every event reaches the endpoint
 *   within BENCH_DEST_DRAIN_S of the last POST.
 * - drain: the destination paused, BENCH_DEST_EVENTS events stored and owed, then resumed: how fast
 *   the deliverer alone empties a backlog, and its CPU per event.
 *
 * Writes bench/results/destination-latest.md (BENCH_PROFILE=1: also the service's CPU profile,
 * bench/results/profiles/destination.cpuprofile, summarised at the end). Removes its database,
 * queues and processes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { BENCH_SECRET, newTag, signedBodies } from './lib/bodies';
import { startDestinationSink } from './lib/destination-sink';
import { Infra } from './lib/infra';
import { postAll, runLoad } from './lib/load';
import { runBench, ServerProcess } from './lib/proc';
import { summariseProfile } from './profile-summary';

const { env } = process;
const num = (name: string, fallback: number) => Number(env[name] || fallback);
const RATE = num('BENCH_DEST_RATE', 2000);
const DURATION_S = num('BENCH_DEST_DURATION', 30);
const DRAIN_S = num('BENCH_DEST_DRAIN_S', 10);
const EVENTS = Math.ceil(num('BENCH_DEST_EVENTS', 30000) / 100) * 100;
const PORT = num('BENCH_DEST_PORT', 3621);
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? resolve(__dirname, '..', 'dist', 'main.js'));
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ADMIN_KEY = 'bench-destination-admin-key-0123456789';
const RESULTS = join(__dirname, 'results', 'destination-latest.md');
const PROFILES = join(__dirname, 'results', 'profiles');
const PROFILE = env.BENCH_PROFILE === '1';

const log = (message: string) =>
  process.stderr.write(`[bench:destination ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const load = () => [...loadavg()].map((l) => l.toFixed(2)).join(' / ');
const infra = new Infra(ADMIN_URL, AMQP_URL);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20))
    if (await check()) return true;
  return false;
}

async function steady(proc: ServerProcess, db: Client, received: () => number) {
  const requests = Math.ceil((RATE * DURATION_S) / 100);
  // Enough distinct bodies that none is sent twice (a duplicate is stored once, so never delivered).
  const bodies = signedBodies(newTag('s'), 100, Math.ceil(requests * 1.1));
  const backlog: { at: number; pending: number }[] = [];
  const started = Date.now();
  let sampling = true;
  const sampler = (async () => {
    for (; sampling; await sleep(500)) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM destination_events WHERE state = 'pending'`,
      );
      backlog.push({ at: (Date.now() - started) / 1000, pending: Number(rows[0].n) });
    }
  })();
  const outcome = await runLoad({
    url: proc.url,
    bodies,
    connections: 16,
    durationS: DURATION_S,
    overallRate: RATE / 100,
  });
  const sent = outcome.ok * 100;
  const postsEndedS = (Date.now() - started) / 1000;
  const arrived = await waitUntil(() => received() >= sent, DRAIN_S * 1000);
  const lastS = (Date.now() - started) / 1000;
  sampling = false;
  await sampler;
  const during = backlog.filter((s) => s.at <= postsEndedS);
  const mid = during.find((s) => s.at >= postsEndedS / 2)?.pending ?? 0;
  const end = during.at(-1)?.pending ?? 0;
  const keptUp = arrived && end <= mid + RATE;
  return {
    offered: sent / outcome.durationS,
    sent,
    non2xx: outcome.non2xx + outcome.errors,
    peak: Math.max(...during.map((s) => s.pending)),
    mid,
    end,
    arrived,
    afterS: lastS - postsEndedS,
    keptUp,
  };
}

async function drain(proc: ServerProcess, db: Client, received: () => number, reset: () => void) {
  const act = async (action: string) => {
    const answer = await fetch(`${proc.url}/admin/destinations/bench/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'bench:destination' }),
    });
    if (!answer.ok) throw new Error(`${action}: HTTP ${answer.status} ${await answer.text()}`);
  };
  await db.query('TRUNCATE destination_events');
  reset();
  await act('pause');
  await postAll(proc.url, signedBodies(newTag('d'), 100, EVENTS / 100), 16);
  const owed = async () =>
    Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM destination_events')).rows[0].n);
  if (!(await waitUntil(async () => (await owed()) >= EVENTS, 120000)))
    throw new Error(`only ${await owed()} of ${EVENTS} events owed to the paused destination`);
  const cpuBefore = proc.cpuSeconds();
  const started = process.hrtime.bigint();
  await act('resume');
  if (!(await waitUntil(() => received() >= EVENTS, 300000)))
    throw new Error(`only ${received()} of ${EVENTS} events reached the endpoint`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = proc.cpuSeconds() - cpuBefore;
  return { seconds, perSecond: EVENTS / seconds, cpuMicros: (cpu * 1e6) / EVENTS };
}

async function main(): Promise<void> {
  const loadAtStart = load();
  await infra.connect();
  const name = newTag('bdest_');
  const prefix = `bench-${name}`;
  const queue = `${prefix}.deliveries`;
  infra.track([queue, `${queue}.dead-letter`], [queue, `${prefix}.dead-letter`, `${prefix}.events`]);
  const url = await infra.createDatabase(name);
  const sink = await startDestinationSink();
  const proc = new ServerProcess({
    name: 'service, destination',
    port: PORT,
    args: [SERVICE_MAIN],
    readyPath: '/health/ready',
    env: {
      APP_ROLE: 'all',
      LOG_LEVEL: 'warn',
      WEBHOOK_SECRETS: BENCH_SECRET,
      ADMIN_API_KEYS: ADMIN_KEY,
      DESTINATIONS_FILE: sink.file,
      AMQP_URL,
      AMQP_PREFIX: prefix,
      DATABASE_URL: url,
    },
  });
  const db = await infra.db(name);
  try {
    if (PROFILE) mkdirSync(PROFILES, { recursive: true });
    const profileArgs = [
      '--cpu-prof',
      '--cpu-prof-dir',
      PROFILES,
      '--cpu-prof-name',
      'destination.cpuprofile',
    ];
    await proc.start({}, PROFILE ? profileArgs : []);
    // Ready takes deliveries; the tables come with the worker's migrations.
    await waitUntil(
      async () => (await db.query(`SELECT to_regclass('destination_state') AS t`)).rows[0].t !== null,
      60000,
    );
    log(`steady: ${RATE} events/s for ${DURATION_S} s (load ${load()})`);
    const s = await steady(proc, db, sink.received);
    log(`steady: ${JSON.stringify(s)}`);
    log(`drain: ${EVENTS} events owed to the paused destination, then resumed (load ${load()})`);
    const d = await drain(proc, db, sink.received, sink.reset);
    log(`drain: ${JSON.stringify(d)}`);
    const text =
      `# bench:destination, ${new Date().toISOString().slice(0, 16)} UTC\n\n` +
      `${cpus()[0]?.model.trim()}, ${cpus().length} cores; load average at start ${loadAtStart}, at end ${load()}. ` +
      `One destination filtering \`#\` (ordering \`entity\`, maxInFlight 16), an endpoint on loopback answering 204 at once; ` +
      `the service with APP_ROLE=all and the feed on.\n\n` +
      `| run | offered | backlog peak | at mid-run | at the end of the load | every event at the endpoint | keeps up |\n` +
      `|---|---:|---:|---:|---:|---|---|\n` +
      `| steady, ${DURATION_S} s | ${fmt(s.offered)} events/s (${fmt(s.sent)} events, ${s.non2xx} not 2xx) | ${fmt(s.peak)} | ${fmt(s.mid)} | ${fmt(s.end)} | ` +
      `${s.arrived ? `${s.afterS.toFixed(1)} s after the last POST` : `not within ${DRAIN_S} s`} | ${s.keptUp ? 'yes' : 'no'} |\n\n` +
      `| run | events | drained in | events/s | CPU of the service per event |\n|---|---:|---:|---:|---:|\n` +
      `| drain (destination paused, then resumed) | ${fmt(EVENTS)} | ${d.seconds.toFixed(2)} s | ${fmt(d.perSecond)} | ${fmt(d.cpuMicros)} µs |\n`;
    writeFileSync(RESULTS, text);
    process.stdout.write(`${text}\n`);
    if (!s.keptUp) process.exitCode = 1;
  } finally {
    await proc.stop();
    if (PROFILE) log(`profile:\n${summariseProfile(join(PROFILES, 'destination.cpuprofile'), 30)}`);
    await sink.close();
    const problems = await infra.cleanUp();
    log(problems.length ? `clean-up problems: ${problems.join('; ')}` : 'database and queues removed');
  }
}

runBench('bench:destination', main, async () => {
  await infra.cleanUp();
});
