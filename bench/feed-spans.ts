/*
 * `npm run bench:feed-spans` (docs/performance.md § Tracing): what one feed span costs the relay's
 * process, from its start to its export. A child process (bench/lib/feed-span-rounds.cjs) sends
 * BENCH_SPAN_ROUNDS (400) rounds of 500 events through the built relay's traceFeedRound, once with
 * tracing on (the SDK exporting OTLP/HTTP protobuf to a sink here, which counts the spans it gets)
 * and once without (what the harness itself costs). Prints the CPU per event of each, their
 * difference, and the spans received against those made (the SDK drops spans when its queue is
 * full). BENCH_SERVICE_MAIN=<dir>/dist/main.js measures another build.
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startOtlpSink } from './lib/otlp-sink';

const ROOT = resolve(__dirname, '..');
const DIST = dirname(resolve(process.env.BENCH_SERVICE_MAIN ?? join(ROOT, 'dist', 'main.js')));
const ROUNDS = Number(process.env.BENCH_SPAN_ROUNDS || 400);
const RUNS = Number(process.env.BENCH_SPAN_RUNS || 3);

interface Rounds {
  cpuUs: number;
  spans: number;
  measured: number;
}

async function rounds(env: NodeJS.ProcessEnv): Promise<Rounds> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(__dirname, 'lib', 'feed-span-rounds.cjs'), DIST, String(ROUNDS)],
    { env, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout) as Rounds;
}

async function main(): Promise<void> {
  const untracedEnv = { ...process.env };
  delete untracedEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete untracedEnv.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  console.log(
    `${DIST}: ${ROUNDS} rounds of 500 feed events, ${RUNS} runs; ${cpus()[0]?.model}, ${cpus().length} cores`,
  );
  for (let run = 1; run <= RUNS; run++) {
    const sink = await startOtlpSink();
    const traced = await rounds({ ...untracedEnv, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url });
    const received = [...sink.spans().values()].reduce((sum, n) => sum + n, 0);
    await sink.close();
    const untraced = await rounds(untracedEnv);
    const per = (r: Rounds) => r.cpuUs / r.measured;
    console.log(
      `run ${run}: traced ${per(traced).toFixed(2)} µs CPU per event, untraced ${per(untraced).toFixed(2)}: ` +
        `a feed span costs ${(per(traced) - per(untraced)).toFixed(2)} µs; spans received ${received} of ${traced.spans}`,
    );
  }
}

void main();
