/*
 * `npm run bench:memory` (docs/performance.md § Memory): where the service's memory goes in the
 * burst of `npm run bench`'s (o): BENCH_BURST_CONNECTIONS (2,500) connections at once, each POSTing
 * 500-event batches for BENCH_BURST_S (5) seconds, 10 s timeout, against the service (APP_ROLE=all)
 * started as `node dist/main.js` (BENCH_IMAGE_ENV=1: with the image's environment and node flags).
 *
 * While it runs, the service's own process.memoryUsage() every 50 ms (bench/lib/memory-sampler.cjs,
 * preloaded: RSS, V8 heap used and total, memory outside the heap and of it Buffers' ArrayBuffers).
 * Prints the peaks, the figures at the RSS peak, the answers and what was left queued; writes nothing
 * but its sample file in the system's temporary directory (removed). Removes its database, queues
 * and process.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_SECRET, newTag, signedBodies } from './lib/bodies';
import { imageNodeArgs, imageRuntimeEnv } from './lib/image-env';
import { Infra } from './lib/infra';
import { runLoad } from './lib/load';
import { runBench, ServerProcess } from './lib/proc';

const { env } = process;
const num = (name: string, fallback: number) => Number(env[name] || fallback);
const CONNECTIONS = num('BENCH_BURST_CONNECTIONS', 2500);
const DURATION_S = num('BENCH_BURST_S', 5);
const PORT = num('BENCH_BURST_PORT', 3631);
const IMAGE = env.BENCH_IMAGE_ENV === '1';
const ROOT = resolve(__dirname, '..');
const SERVICE_MAIN = resolve(env.BENCH_SERVICE_MAIN ?? join(ROOT, 'dist', 'main.js'));
/** Extra environment for the service, `K=V` separated by spaces (e.g. `INTAKE_MAX_BYTES=16mb`). */
const SERVICE_ENV = Object.fromEntries(
  (env.BENCH_SERVICE_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** Extra flags for the service's node, space-separated (e.g. `--max-semi-space-size=4`). */
const NODE_ARGS = (env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const ADMIN_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const log = (message: string) =>
  process.stderr.write(`[bench:memory ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const infra = new Infra(ADMIN_URL, AMQP_URL);
const mib = (bytes: number) => (bytes / 1048576).toFixed(0);

interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

async function main(): Promise<void> {
  await infra.connect();
  const name = newTag('bmem_');
  const prefix = `bench-${name}`;
  const queue = `${prefix}.deliveries`;
  infra.track([queue, `${queue}.dead-letter`], [queue, `${prefix}.dead-letter`, `${prefix}.events`]);
  const url = await infra.createDatabase(name);
  const proc = new ServerProcess({
    name: 'service',
    port: PORT,
    args: [SERVICE_MAIN],
    readyPath: '/health/ready',
    env: {
      WEBHOOK_SECRETS: BENCH_SECRET,
      AMQP_URL,
      PUBLISH_TIMEOUT_MS: '5000',
      APP_ROLE: 'all',
      LOG_LEVEL: 'warn',
      DATABASE_URL: url,
      AMQP_PREFIX: prefix,
      ...(IMAGE ? imageRuntimeEnv(ROOT) : {}),
      ...SERVICE_ENV,
    },
  });
  try {
    const samples = join(tmpdir(), `${name}.memory.jsonl`);
    await proc.start({ BENCH_MEMORY_LOG: samples }, [
      '-r',
      join(__dirname, 'lib', 'memory-sampler.cjs'),
      ...(IMAGE ? imageNodeArgs(ROOT) : []),
      ...NODE_ARGS,
    ]);
    const bodies = signedBodies(newTag('m'), 500, 400);
    log(
      `${cpus().length} cores, load ${loadavg()[0].toFixed(2)}; ${IMAGE ? 'as the image' : 'node dist/main.js'}` +
        `${Object.keys(SERVICE_ENV).length ? ` with ${env.BENCH_SERVICE_ENV}` : ''}` +
        `${NODE_ARGS.length ? ` and ${NODE_ARGS.join(' ')}` : ''}; ` +
        `${CONNECTIONS} connections × 500-event batches for ${DURATION_S} s`,
    );
    const outcome = await runLoad({
      url: proc.url,
      bodies,
      connections: CONNECTIONS,
      durationS: DURATION_S,
      timeoutS: 10,
    });
    await sleep(2000); // what the answered deliveries leave behind while they are stored
    const queued = (await infra.queueState(queue))?.messages ?? NaN;
    await proc.stop();
    const all = readFileSync(samples, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Sample);
    if (existsSync(samples)) rmSync(samples);
    const peak = all.reduce((a, b) => (b.rss > a.rss ? b : a));
    const max = (pick: (s: Sample) => number) => Math.max(...all.map(pick));
    log(
      `answers: ${JSON.stringify(outcome.statusCodes)}, errors ${outcome.errors} (timeouts ${outcome.timeouts}), ` +
        `p99 ${outcome.p99Ms} ms, max ${outcome.maxMs} ms; ${queued} deliveries queued 2 s after`,
    );
    log(
      `at the RSS peak (${mib(peak.rss)} MiB): heap used ${mib(peak.heapUsed)} of ${mib(peak.heapTotal)} MiB, ` +
        `outside the heap ${mib(peak.external)} MiB (Buffers ${mib(peak.arrayBuffers)} MiB), the rest ` +
        `${mib(peak.rss - peak.heapTotal - peak.external)} MiB (code, stacks, the allocator's free memory)`,
    );
    log(
      `peaks over ${all.length} samples: heap used ${mib(max((s) => s.heapUsed))}, heap total ` +
        `${mib(max((s) => s.heapTotal))}, outside the heap ${mib(max((s) => s.external))}, Buffers ` +
        `${mib(max((s) => s.arrayBuffers))} MiB`,
    );
  } finally {
    await proc.stop();
  }
}

async function cleanUp(): Promise<void> {
  for (const problem of await infra.cleanUp()) log(problem);
}

// autocannon's sockets to a stopped server would keep this process alive: exit once clean.
runBench(
  'bench:memory',
  () =>
    main()
      .then(cleanUp)
      .then(() => process.exit(0)),
  cleanUp,
);
