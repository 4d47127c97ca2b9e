import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { AMQP_URL, runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * Logs an operator can act on, from the built service (`node dist/main.js`): one line per request
 * at the right level, the reason of a refusal, the cause of a broker failure, one start-up line with
 * port, role and version, and no noise. Ports 3861-3869.
 */

interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  reason?: string;
  err?: unknown;
  deliveryId?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode: number };
  [field: string]: unknown;
}

const lines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as LogLine);

const VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** The same port as AMQP_URL's broker, with a password the broker refuses. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

describe('logs', () => {
  const services: ServiceProcess[] = [];
  const prefixes: string[] = [];

  const service = (port: number, env: Record<string, string>): ServiceProcess => {
    const prefix = uniquePrefix('logs');
    prefixes.push(prefix);
    const created = new ServiceProcess(port, {
      APP_ROLE: 'api',
      AMQP_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ...env,
    });
    services.push(created);
    return created;
  };

  afterAll(async () => {
    for (const each of services) await each.dispose();
    const probe = await BrokerProbe.connect();
    for (const prefix of prefixes) await probe.deleteTopology(prefix);
    await probe.close();
  });

  it('starts with one line naming port, role and version, probes from the first moment without an error line, and 401 lines say why', async () => {
    const api = service(3861, {});
    // Ready as soon as it listens: the probes below come within milliseconds of the start.
    await api.start('/health/live');
    const early = await Promise.all([fetch(`${api.url}/health`), fetch(`${api.url}/health/ready`)]);
    for (const res of early) await res.body?.cancel();
    await waitFor(async () => (await fetch(`${api.url}/health/ready`)).status === 200, { what: 'api ready' });

    const body = Buffer.from(JSON.stringify(envelope()));
    const refusals = {
      missing: await postWebhook(api.url, body, { signature: null }),
      notHex: await postWebhook(api.url, body, { signature: 'not-a-signature' }),
      noMatch: await postWebhook(api.url, body, { signature: sign(body, 'some-other-secret-000000000') }),
    };
    for (const res of Object.values(refusals)) expect(res.status).toBe(401);
    const favicon = await fetch(`${api.url}/favicon.ico`);
    expect(favicon.status).toBe(204);
    const ids = Object.fromEntries(
      Object.entries(refusals).map(([key, res]) => [key, res.headers.get('x-delivery-id')]),
    ) as Record<keyof typeof refusals, string>;
    await waitFor(() => Object.values(ids).every((id) => api.output.includes(id)), { what: 'the 401 lines' });
    expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    const log = lines(api.output);

    const start = log.filter((line) => line.context === 'Main');
    expect(start).toEqual([
      expect.objectContaining({
        level: 30,
        port: 3861,
        role: 'api',
        version: VERSION,
        msg: `listening on port 3861 (role api, version ${VERSION})`,
      }),
    ]);
    // Nest's per-module and per-route chatter is debug.
    expect(
      log.filter(
        (line) =>
          line.level >= 30 && /InstanceLoader|RouterExplorer|RoutesResolver/.test(String(line.context)),
      ),
    ).toEqual([]);

    // A probe before the broker is connected is a 503 at most a warning, once, and Terminus says nothing.
    expect(api.output).not.toContain('Health Check has failed');
    expect(log.filter((line) => line.level >= 50)).toEqual([]);
    for (const line of log.filter((each) => each.req?.url?.startsWith('/health')))
      expect(line.err).toBeUndefined();

    const reasonOf = (key: keyof typeof ids) => {
      const matching = log.filter((line) => line.deliveryId === ids[key]);
      expect(matching).toHaveLength(1);
      expect(matching[0]).toMatchObject({ level: 40, res: { statusCode: 401 } });
      return matching[0].reason;
    };
    expect(reasonOf('missing')).toBe('X-Comapi-Signature header is missing');
    expect(reasonOf('notHex')).toMatch(/not 40 hex digits/);
    expect(reasonOf('noMatch')).toBe(
      'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
    );
    // /favicon.ico is answered and not logged at info.
    expect(log.filter((line) => line.req?.url === '/favicon.ico')).toEqual([]);
  });

  it('broker unreachable: each failing /health probe is one warning without a stack, a 503 with Retry-After is a warning with its reason', async () => {
    const api = service(3862, { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' });
    await api.start('/health/live');
    const probes = await Promise.all([1, 2, 3].map(() => fetch(`${api.url}/health`)));
    for (const res of probes) {
      expect(res.status).toBe(503);
      await res.body?.cancel();
    }
    const refused = await postWebhook(api.url, JSON.stringify(envelope()));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const deliveryId = refused.headers.get('x-delivery-id')!;
    await waitFor(() => api.output.includes(deliveryId) && api.output.includes('ECONNREFUSED'), {
      what: 'the 503 line and the connection failure',
    });
    expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    const log = lines(api.output);

    const health = log.filter((line) => line.req?.url === '/health');
    expect(health).toHaveLength(3);
    for (const line of health) {
      expect(line).toMatchObject({ level: 40, msg: 'request completed', res: { statusCode: 503 } });
      expect(line.err).toBeUndefined();
    }
    expect(api.output).not.toContain('Health Check has failed');
    expect(api.output).not.toContain('failed with status code');
    expect(log.filter((line) => line.deliveryId === deliveryId)).toEqual([
      expect.objectContaining({
        level: 40,
        res: expect.objectContaining({ statusCode: 503 }),
        reason: expect.stringMatching(
          /^not connected to the message broker \(.*ECONNREFUSED 127\.0\.0\.1:1\)$/,
        ),
      }),
    ]);
    // The cause is in the connection's own line, and no line is an error.
    expect(
      log.some(
        (line) =>
          line.level === 40 && /connecting to 127\.0\.0\.1:1 failed: .*ECONNREFUSED/.test(line.msg ?? ''),
      ),
    ).toBe(true);
    expect(log.filter((line) => line.level >= 50)).toEqual([]);
  });

  it('a wrong broker password shows as ACCESS-REFUSED on the test page and in the log', async () => {
    const api = service(3863, { AMQP_URL: withPassword(AMQP_URL, `wrong-${randomUUID()}`) });
    await api.start('/health/live');
    const page = await waitFor(
      async () => {
        const text = await (await fetch(`${api.url}/webhook`)).text();
        return /ACCESS.REFUSED/.test(text) ? text : null;
      },
      { what: 'ACCESS-REFUSED on the test page', timeoutMs: 30000 },
    );
    expect(page).toMatch(/Not ready \(rabbitmq \(publisher\): disconnected: [^)]*ACCESS.REFUSED/);
    await waitFor(() => /failed: [^"]*ACCESS.REFUSED/.test(api.output), {
      what: 'ACCESS-REFUSED in the log',
    });
    expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(api.output).not.toContain('wrong-');
  });

  it('a 503 while shutting down is a warning with its reason', async () => {
    const db = await Db.connect();
    const all = service(3864, { APP_ROLE: 'all', DATABASE_URL: runDatabaseUrl() });
    await all.start();
    // Ready is the publisher's side; storing needs the schema and the consumer too.
    await waitFor(
      async () =>
        (await fetch(`${all.url}/health`)).status === 200 &&
        (await db.rows(`SELECT to_regclass('entity_revisions') AS t`))[0].t !== null,
      { timeoutMs: 30000, what: 'schema in place and consumer connected' },
    );
    // The consumer's transaction waits on a row this test holds, so the shutdown waits for that batch
    // while HTTP still answers (lifecycle/graceful-shutdown.ts): a POST then gets the shutdown 503.
    const messageId = `logs-msg-${randomUUID()}`;
    const locker = await Db.connect();
    try {
      await db.rows(
        `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
         VALUES ('space-e2e', 'message', $1, 1, $2, 'message.sent')`,
        [messageId, `logs-seed-${randomUUID()}`],
      );
      const [{ pid }] = await locker.rows<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await locker.rows('BEGIN');
      await locker.rows(`SELECT * FROM entity_revisions WHERE entity_id = $1 FOR UPDATE`, [messageId]);
      const held = await postWebhook(
        all.url,
        JSON.stringify(envelope({ payload: { id: messageId }, revision: 2 })),
      );
      expect(held.status).toBe(200);
      await waitFor(
        () => db.count(`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]),
        { what: "the consumer's transaction waiting on the held row" },
      );
      const exited = all.kill('SIGTERM');
      const refused = await waitFor(
        async () => {
          const res = await postWebhook(all.url, JSON.stringify(envelope()));
          if (res.status === 503) return res;
          await res.body?.cancel();
          return null;
        },
        { what: 'a shutdown 503' },
      );
      expect(refused.headers.get('retry-after')).toBe('5');
      const deliveryId = refused.headers.get('x-delivery-id')!;
      await waitFor(() => all.output.includes(deliveryId), { what: 'the 503 line' });
      await locker.rows('COMMIT');
      expect(await exited).toEqual({ code: 0, signal: null });
      const log = lines(all.output);
      expect(log.filter((line) => line.deliveryId === deliveryId)).toEqual([
        expect.objectContaining({ level: 40, reason: 'this instance is shutting down' }),
      ]);
      expect(log.filter((line) => line.level >= 50)).toEqual([]);
    } finally {
      await locker.rows('ROLLBACK').catch(() => undefined);
      await locker.close();
      await db.close();
    }
  });
});
