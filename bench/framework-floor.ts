/**
 * `npm run bench:floor`: the CPU that NestJS + Express spend on one POST before any of the service's
 * own work, against NestJS on Fastify and plain node:http doing the same (read the body, answer JSON). Both under the
 * same autocannon load, alternating rounds; CPU per request from /proc (user + system).
 *   BENCH_DURATION (s per run, default 8), BENCH_ROUNDS (default 2), BENCH_CONNECTIONS (default 16)
 */
import { join } from 'node:path';
import { signedBodies } from './lib/bodies';
import { runLoad } from './lib/load';
import { killAll, ServerProcess } from './lib/proc';
import { median } from './lib/stats';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

const servers = {
  'NestJS 11 + Express, empty route': new ServerProcess({
    name: 'nest-minimal',
    port: 3481,
    args: ['-r', 'ts-node/register/transpile-only', join(__dirname, 'floor', 'nest-minimal.ts')],
    env: {},
    readyPath: '/ready',
  }),
  'NestJS 11 + Fastify, empty route': new ServerProcess({
    name: 'nest-fastify-minimal',
    port: 3483,
    args: ['-r', 'ts-node/register/transpile-only', join(__dirname, 'floor', 'nest-fastify-minimal.ts')],
    env: {},
    readyPath: '/ready',
  }),
  'node:http, same route': new ServerProcess({
    name: 'http-minimal',
    port: 3482,
    args: ['-r', 'ts-node/register/transpile-only', join(__dirname, 'floor', 'http-minimal.ts')],
    env: {},
    readyPath: '/ready',
  }),
};

async function main(): Promise<void> {
  const bodies = signedBodies('floor', 1, 2000);
  const results: Record<string, { rps: number[]; cpuUs: number[] }> = {};
  for (const server of Object.values(servers)) await server.start();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, server] of Object.entries(servers)) {
      await runLoad({ url: server.url, bodies, connections: CONNECTIONS, durationS: 2 }); // warm-up
      const cpuBefore = server.cpuSeconds();
      const load = await runLoad({
        url: server.url,
        bodies,
        connections: CONNECTIONS,
        durationS: DURATION_S,
      });
      const cpu = server.cpuSeconds() - cpuBefore;
      const requests = load.ok + load.non2xx;
      (results[label] ??= { rps: [], cpuUs: [] }).rps.push(requests / load.durationS);
      results[label].cpuUs.push((cpu * 1e6) / requests);
    }
  }
  for (const server of Object.values(servers)) await server.stop();
  console.log(`\n${ROUNDS} round(s) of ${DURATION_S} s, ${CONNECTIONS} connections, medians:\n`);
  console.log('| server | req/s | server CPU µs per request |');
  console.log('|---|---:|---:|');
  for (const [label, { rps, cpuUs }] of Object.entries(results)) {
    console.log(
      `| ${label} | ${Math.round(median(rps)).toLocaleString('en')} | ${Math.round(median(cpuUs))} |`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(killAll);
