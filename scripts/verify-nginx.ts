/**
 * Proves docker/nginx.conf without a Docker engine: runs this machine's nginx (foreground, a prefix and
 * temp folders of its own, a loopback port) with docker/nginx.conf itself, only its upstream rewritten
 * from `api:3000` to two api processes of the built service (APP_ROLE=api) and its listen address to
 * loopback. Sends a few hundred signed POSTs through it, SIGTERMs one api mid-load, and checks that
 * both apis took deliveries, that every POST was answered 200, that each accepted event is durably in
 * RabbitMQ, and that the stopped api exited 0.
 *
 *   node -r ts-node/register/transpile-only scripts/verify-nginx.ts
 *
 * Needs nginx (`.ci/run` installs Debian's) and a build (dist/, or VERIFY_SERVICE_MAIN).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topologyFor } from '../src/messaging/topology';
import {
  AMQP_URL,
  Child,
  REPO,
  SECRET,
  amqpPrefix,
  check,
  drainQueue,
  envelope,
  log,
  metricSample,
  randomTag,
  runScript,
  serviceMain,
  sign,
  waitFor,
} from './lib';
import { requireNginx, writeNginxConfig } from './nginx';

const NGINX_PORT = 3360;
const API_PORTS = [3361, 3362];
const REQUESTS = 400;
const CONCURRENCY = 8;
const STOP_AFTER = 120;

/** The seconds of an nginx time such as `9s`, `500ms`, `1m`. */
function nginxSeconds(value: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!match) throw new Error(`cannot read nginx time ${value}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[(match[2] ?? 's') as 'ms' | 's' | 'm'];
}

runScript('verify-nginx', async (cleanup) => {
  const nginxBin = requireNginx();
  log(`${spawnSync(nginxBin, ['-v'], { encoding: 'utf8' }).stderr.trim()} (${nginxBin})`);
  const main = serviceMain();
  if (!existsSync(main)) throw new Error(`${main} does not exist: build first (npm run build)`);

  // -------- what the file says
  const original = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');
  const nextUpstream = /proxy_next_upstream\s+([^;]+);/.exec(original)?.[1].split(/\s+/) ?? [];
  for (const condition of ['error', 'timeout', 'http_502', 'http_503', 'non_idempotent'])
    check(nextUpstream.includes(condition), `proxy_next_upstream retries on ${condition}`);
  for (const directive of [
    'proxy_connect_timeout',
    'proxy_send_timeout',
    'proxy_read_timeout',
    'proxy_next_upstream_timeout',
  ]) {
    const value = new RegExp(`${directive}\\s+(\\S+);`).exec(original)?.[1];
    check(
      value !== undefined && nginxSeconds(value) < 10,
      `${directive} ${value} is under Dotdigital's 10 s`,
    );
  }
  check(/proxy_pass\s+http:\/\/api;/.test(original), 'proxy_pass goes to the api upstream');

  // -------- nginx with that file, in front of two api processes
  const dir = mkdtempSync(join(tmpdir(), 'verify-nginx-'));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  // The image's own nginx.conf around it (http context), with paths of this run's.
  const nginxArgs = writeNginxConfig(dir, {
    port: NGINX_PORT,
    apiPorts: API_PORTS,
    logFormat: `'$status $request_time "$upstream_addr" "$upstream_status"'`,
  });
  execFileSync(nginxBin, [...nginxArgs, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
  check(true, 'nginx -t accepts docker/nginx.conf (upstream and listen rewritten)');

  const prefix = amqpPrefix(cleanup, 'nginx');
  const apis = API_PORTS.map(
    (port) =>
      new Child(`api:${port}`, process.execPath, [main], {
        cwd: REPO,
        env: {
          PATH: process.env.PATH ?? '',
          APP_ROLE: 'api',
          PORT: String(port),
          WEBHOOK_SECRETS: SECRET,
          AMQP_URL,
          AMQP_PREFIX: prefix,
          LOG_LEVEL: 'warn',
        },
      }),
  );
  for (const api of apis) cleanup.add(`stop ${api.name}`, () => api.kill());
  const nginx = new Child('nginx', nginxBin, [...nginxArgs, '-g', 'daemon off;'], { cwd: dir });
  cleanup.add('stop nginx', () => nginx.kill('SIGQUIT'));

  try {
    for (const [i, port] of API_PORTS.entries()) {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200,
        `api ${i + 1} ready`,
      );
    }
    const lb = `http://127.0.0.1:${NGINX_PORT}`;
    await waitFor(async () => (await fetch(`${lb}/health/live`)).status === 200, 'nginx proxying');
    check(
      (await fetch(`${lb}/metrics`)).status === 404,
      'GET /metrics through nginx is 404 (scraped per replica)',
    );

    const accepted = async (port: number) =>
      metricSample(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        'webhook_deliveries_total{result="accepted"}',
      );

    // -------- load, and one api stopped in the middle of it
    const tag = randomTag();
    const results: { eventId: string; status: number | string }[] = [];
    let next = 0;
    let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
    let firstApiAccepted = 0;
    const sender = async () => {
      while (next < REQUESTS) {
        const eventId = `verify-nginx-${tag}-${String(next++).padStart(4, '0')}`;
        const body = Buffer.from(JSON.stringify(envelope(eventId)));
        let status: number | string;
        try {
          const res = await fetch(`${lb}/webhook`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': sign(body) },
            body,
            signal: AbortSignal.timeout(15000),
          });
          await res.arrayBuffer();
          status = res.status;
        } catch (err) {
          status = (err as Error).message;
        }
        results.push({ eventId, status });
        if (results.length === STOP_AFTER && !stopped) {
          firstApiAccepted = await accepted(API_PORTS[0]);
          log(`after ${STOP_AFTER} requests: SIGTERM to api 1 (it had accepted ${firstApiAccepted})`);
          stopped = apis[0].stop('SIGTERM');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => sender()));
    const exit = await stopped!;
    const secondApiAccepted = await accepted(API_PORTS[1]);

    const failed = results.filter((r) => r.status !== 200);
    check(results.length === REQUESTS, `${REQUESTS} signed POSTs sent through nginx`);
    check(
      failed.length === 0,
      `every POST was answered 200 (${failed.length} not: ${JSON.stringify(failed.slice(0, 5))})`,
    );
    check(firstApiAccepted > 0, `api 1 took deliveries before it was stopped (${firstApiAccepted})`);
    check(secondApiAccepted > 0, `api 2 took deliveries (${secondApiAccepted})`);
    check(exit.code === 0 && exit.signal === null, `the stopped api exited 0 (${JSON.stringify(exit)})`);

    // 200 means durable in RabbitMQ: every accepted event is in the queue (a delivery retried on the
    // other api after the first took it would appear twice, which storage absorbs).
    const bodies = await drainQueue(topologyFor(prefix).queue);
    const queued = new Map<string, number>();
    for (const body of bodies) {
      const { eventId } = JSON.parse(body.toString()) as { eventId: string };
      queued.set(eventId, (queued.get(eventId) ?? 0) + 1);
    }
    const lost = results.filter((r) => !queued.has(r.eventId));
    check(
      lost.length === 0,
      `every accepted event is in RabbitMQ (${bodies.length} messages for ${REQUESTS} events)`,
    );

    const access = readFileSync(join(dir, 'logs', 'access.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('/webhook') || l.startsWith('200'));
    const retried = access.filter((line) => /"[^"]*,[^"]*"$/.test(line));
    log(
      `nginx passed ${retried.length} request(s) on to the other api (upstream statuses: ${[...new Set(retried.map((l) => l.split('"')[3]))].join('; ') || 'none'})`,
    );
  } catch (err) {
    console.error(
      `--- nginx error log\n${existsSync(join(dir, 'logs', 'error.log')) ? readFileSync(join(dir, 'logs', 'error.log'), 'utf8').slice(-3000) : ''}`,
    );
    for (const api of apis) console.error(`--- ${api.name} output\n${api.tail()}`);
    throw err;
  }
  const nginxExit = await nginx.stop('SIGQUIT');
  check(nginxExit.code === 0, 'nginx stopped gracefully');
});
