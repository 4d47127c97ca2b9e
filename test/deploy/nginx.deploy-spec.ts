/**
 * docker/nginx.conf, without a Docker engine: this machine's nginx (foreground, a prefix and temp
 * folders of its own, a loopback port) runs the file itself, only its upstream rewritten from
 * `api:3000` to two api processes of the built service (APP_ROLE=api) and its listen address to
 * loopback. A few hundred signed POSTs go through it while one api gets SIGTERM mid-load: both apis
 * took deliveries, every POST was answered 200, each accepted event is durably in RabbitMQ, and the
 * stopped api exited 0.
 *
 * Needs nginx (`.ci/run` installs Debian's) and a build (dist/, or DEPLOY_SERVICE_MAIN).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topologyFor } from '../../src/messaging/topology';
import { requireNginx, writeNginxConfig } from '../support/nginx';
import { waitFor } from '../support/poll';
import { Child, Cleanup, type Exit } from '../support/processes';
import {
  AMQP_URL,
  REPO,
  SECRET,
  amqpPrefix,
  drainQueue,
  envelope,
  metricSample,
  randomTag,
  serviceMain,
  sign,
} from './support';

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

const original = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');

describe('docker/nginx.conf', () => {
  it.each(['error', 'timeout', 'http_502', 'http_503', 'non_idempotent'])(
    'proxy_next_upstream retries on %s',
    (condition) => {
      const nextUpstream = /proxy_next_upstream\s+([^;]+);/.exec(original)?.[1].split(/\s+/) ?? [];
      expect(nextUpstream).toContain(condition);
    },
  );

  it.each([
    'proxy_connect_timeout',
    'proxy_send_timeout',
    'proxy_read_timeout',
    'proxy_next_upstream_timeout',
  ])("%s is under Dotdigital's 10 s", (directive) => {
    const value = new RegExp(`${directive}\\s+(\\S+);`).exec(original)?.[1];
    expect(value).toBeDefined();
    expect(nginxSeconds(value!)).toBeLessThan(10);
  });

  it('proxy_pass goes to the api upstream', () => {
    expect(original).toMatch(/proxy_pass\s+http:\/\/api;/);
  });
});

describe('docker/nginx.conf run by nginx in front of two api processes, one stopped mid-load', () => {
  const cleanup = new Cleanup();
  const lb = `http://127.0.0.1:${NGINX_PORT}`;
  let dir: string;
  let nginxBin: string;
  let nginxArgs: string[];
  let apis: Child[] = [];
  let nginx: Child;
  let prefix: string;

  /** Shows nginx's error log and the apis' output of a failed check. */
  const explain = async (check: () => Promise<void> | void) => {
    try {
      await check();
    } catch (err) {
      const errorLog = join(dir, 'logs', 'error.log');
      console.error(
        `--- nginx error log\n${existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-3000) : ''}\n` +
          apis.map((api) => `--- ${api.name} output\n${api.tail()}`).join('\n'),
      );
      throw err;
    }
  };

  beforeAll(() => {
    nginxBin = requireNginx();
    const main = serviceMain();
    if (!existsSync(main)) throw new Error(`${main} does not exist: build first (npm run build)`);
    dir = mkdtempSync(join(tmpdir(), 'deploy-nginx-'));
    cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    // The image's own nginx.conf around it (http context), with paths of this run's.
    nginxArgs = writeNginxConfig(dir, {
      port: NGINX_PORT,
      apiPorts: API_PORTS,
      logFormat: `'$status $request_time "$upstream_addr" "$upstream_status"'`,
    });
    prefix = amqpPrefix(cleanup, 'nginx');
    apis = API_PORTS.map(
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
  });

  afterAll(() => cleanup.run());

  it('nginx -t accepts docker/nginx.conf (upstream and listen rewritten)', () => {
    expect(() =>
      execFileSync(nginxBin, [...nginxArgs, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    ).not.toThrow();
  });

  it('proxies to both apis once they are ready; GET /metrics through it is 404 (scraped per replica)', async () => {
    nginx = new Child('nginx', nginxBin, [...nginxArgs, '-g', 'daemon off;'], { cwd: dir });
    cleanup.add('stop nginx', () => nginx.kill('SIGQUIT'));
    await explain(async () => {
      for (const [i, port] of API_PORTS.entries()) {
        await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, {
          what: `api ${i + 1} ready`,
          timeoutMs: 30000,
        });
      }
      await waitFor(async () => (await fetch(`${lb}/health/live`)).status === 200, {
        what: 'nginx proxying',
        timeoutMs: 30000,
      });
      expect((await fetch(`${lb}/metrics`)).status).toBe(404);
    });
  });

  it(`answers ${REQUESTS} signed POSTs 200 while one api drains, both apis taking deliveries, every one durably in RabbitMQ`, async () => {
    const accepted = async (port: number) =>
      metricSample(
        await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        'webhook_deliveries_total{result="accepted"}',
      );
    const tag = randomTag();
    const results: { eventId: string; status: number | string }[] = [];
    let next = 0;
    let stopped: Promise<Exit> | undefined;
    let firstApiAccepted = 0;
    const sender = async () => {
      while (next < REQUESTS) {
        const eventId = `deploy-nginx-${tag}-${String(next++).padStart(4, '0')}`;
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
          stopped = apis[0].stop('SIGTERM');
        }
      }
    };
    await explain(async () => {
      await Promise.all(Array.from({ length: CONCURRENCY }, () => sender()));
      const exit = await stopped!;
      const secondApiAccepted = await accepted(API_PORTS[1]);

      expect(results).toHaveLength(REQUESTS);
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(firstApiAccepted).toBeGreaterThan(0);
      expect(secondApiAccepted).toBeGreaterThan(0);
      expect(exit).toEqual({ code: 0, signal: null });

      // 200 means durable in RabbitMQ: every accepted event is in the queue (a delivery retried on the
      // other api after the first took it would appear twice, which storage absorbs).
      const queued = new Set(
        (await drainQueue(topologyFor(prefix).queue)).map(
          (body) => (JSON.parse(body.toString()) as { eventId: string }).eventId,
        ),
      );
      expect(results.filter((r) => !queued.has(r.eventId)).map((r) => r.eventId)).toEqual([]);
    });
  }, 180000);

  it('nginx stops gracefully', async () => {
    expect((await nginx.stop('SIGQUIT')).code).toBe(0);
  });
});
