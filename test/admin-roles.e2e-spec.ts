import { createHash } from 'node:crypto';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { AMQP_URL, OTHER_SECRET, TEST_SECRET, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { envelope, fixture, postWebhook } from './support/signing';

const KEY = 'admin-key-of-the-role-tests-0123456789abcdef';
const OTHER_KEY = 'second-admin-key-of-the-role-tests-abcdef012345';
const WRONG_KEY = 'not-a-configured-admin-key-0123456789abcdef';
const PORT = 3731;

const fingerprint = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 8);

/** Which roles serve /admin (worker and all, only with ADMIN_API_KEYS), and what reaches the logs. */
describe('operations API: roles, logs and secrets', () => {
  let scratch: ScratchDatabase;
  let probe: BrokerProbe;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('admin_roles');
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await probe?.close();
    await scratch?.drop();
  });

  const adminRoutes: [string, string][] = [
    ['GET', '/admin/events'],
    ['GET', '/admin/events/some-event'],
    ['GET', '/admin/entities/message/m-1'],
    ['GET', '/admin/quarantine'],
    ['GET', '/admin/quarantine/1'],
    ['POST', '/admin/quarantine/1/replay'],
    ['POST', '/admin/quarantine/1/resolve'],
    ['GET', '/admin/dead-letters'],
    ['POST', '/admin/dead-letters/replay'],
    ['POST', '/admin/events/replay'],
  ];
  const call = (url: string, method: string, path: string, key: string | null = KEY) =>
    fetch(`${url}${path}`, {
      method,
      headers: key === null ? {} : { Authorization: `Bearer ${key}` },
      body:
        method !== 'POST'
          ? undefined
          : path === '/admin/events/replay'
            ? '{"since":"2026-11-20T00:00:00Z","until":"2026-11-21T00:00:00Z","reason":"role test"}'
            : '{"reason":"role test"}',
    });

  /** Runs `check` against an in-process app of that environment, then closes it and its queues. */
  async function withApp(env: Record<string, string>, check: (app: TestApp) => Promise<void>): Promise<void> {
    const app = await startApp({ DATABASE_URL: scratch.url, ...env });
    try {
      await check(app);
    } finally {
      await app.close();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
    }
  }

  async function expectNoAdmin(app: TestApp): Promise<void> {
    for (const [method, path] of adminRoutes) {
      const res = await call(app.url, method, path);
      expect([method, path, res.status]).toEqual([method, path, 404]);
      await res.arrayBuffer();
    }
    const docs = (await (await fetch(`${app.url}/docs-json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths).filter((path) => path.startsWith('/admin'))).toEqual([]);
  }

  it('APP_ROLE=all without ADMIN_API_KEYS: /admin/* is 404 (and not in /docs), the rest is served', async () => {
    await withApp({ APP_ROLE: 'all' }, async (app) => {
      await expectNoAdmin(app);
      expect((await postWebhook(app.url, fixture('message.sent.json'))).status).toBe(200);
    });
  });

  it('APP_ROLE=api with ADMIN_API_KEYS: /admin/* is 404 (the api has no database), /webhook is served', async () => {
    await withApp({ APP_ROLE: 'api', ADMIN_API_KEYS: KEY }, async (app) => {
      await expectNoAdmin(app);
      const page = await fetch(`${app.url}/webhook`);
      expect(page.status).toBe(200);
      await page.arrayBuffer();
    });
  });

  it('APP_ROLE=worker with ADMIN_API_KEYS: serves every /admin route (401 without a key), and no /webhook', async () => {
    await withApp({ APP_ROLE: 'worker', ADMIN_API_KEYS: KEY }, async (app) => {
      const expected: Record<string, number> = {
        'GET /admin/events': 200,
        'GET /admin/events/some-event': 404,
        'GET /admin/entities/message/m-1': 404,
        'GET /admin/quarantine': 200,
        'GET /admin/quarantine/1': 404,
        'POST /admin/quarantine/1/replay': 404,
        'POST /admin/quarantine/1/resolve': 404,
        'GET /admin/dead-letters': 200,
        'POST /admin/dead-letters/replay': 200,
        'POST /admin/events/replay': 202,
      };
      const seen: Record<string, number> = {};
      for (const [method, path] of adminRoutes) {
        const res = await call(app.url, method, path);
        seen[`${method} ${path}`] = res.status;
        expect(await res.text()).not.toContain(KEY);
        const anonymous = await call(app.url, method, path, null);
        expect(anonymous.status).toBe(401);
        await anonymous.arrayBuffer();
      }
      expect(seen).toEqual(expected);
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${app.url}/webhook`, { method, body: method === 'POST' ? '{}' : undefined });
        expect(res.status).toBe(404);
        await res.arrayBuffer();
      }
    });
  });

  describe('the built service (dist/main.js, LOG_LEVEL=info)', () => {
    let service: ServiceProcess;
    let prefix: string;
    const answers: string[] = [];
    let db: Db;

    beforeAll(async () => {
      prefix = uniquePrefix('admin-logs');
      service = new ServiceProcess(PORT, {
        APP_ROLE: 'all',
        LOG_LEVEL: 'info',
        DATABASE_URL: scratch.url,
        AMQP_URL,
        AMQP_PREFIX: prefix,
        WEBHOOK_SECRETS: `${TEST_SECRET},${OTHER_SECRET}`,
        ADMIN_API_KEYS: `${KEY},${OTHER_KEY}`,
      });
      await service.start();
      db = await Db.connect(scratch.url);
    });

    afterAll(async () => {
      await service?.kill('SIGTERM').catch(() => undefined);
      await service?.dispose();
      await probe.deleteTopology(prefix);
      await db?.close();
    });

    const keep = async (res: Response): Promise<Response> => {
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.clone().text()}`);
      return res;
    };

    it("logs every answered operations request as 'admin request' with the key's fingerprint, never a key or a secret", async () => {
      const event = envelope();
      const delivered = await postWebhook(service.url, JSON.stringify(event));
      expect(delivered.status).toBe(200);
      await waitFor(
        async () =>
          (await db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', [event.eventId])) === 1,
        { what: 'the event stored' },
      );
      const request = (path: string, key: string | null, init: RequestInit = {}) =>
        fetch(`${service.url}${path}`, {
          ...init,
          headers: {
            ...(key === null ? {} : { Authorization: `Bearer ${key}` }),
            ...(init.headers as object),
          },
        }).then(keep);

      const statuses = [
        (await request('/admin/events?limit=5', KEY)).status,
        (await request(`/admin/events/${String(event.eventId)}`, OTHER_KEY)).status,
        (
          await request(
            `/admin/entities/message/${(event.payload as { id: string }).id}?apiSpaceId=space-e2e`,
            KEY,
          )
        ).status,
        (await request('/admin/quarantine', OTHER_KEY)).status,
        (await request('/admin/dead-letters', KEY)).status,
        (await request('/admin/events?limit=0', KEY)).status,
        (await request('/admin/events/no-such-event', KEY)).status,
        (
          await request('/admin/events/replay', KEY, {
            method: 'POST',
            body: JSON.stringify({
              since: new Date(Date.now() - 60_000).toISOString(),
              until: new Date(Date.now() + 60_000).toISOString(),
              reason: 'log test',
            }),
          })
        ).status,
        (await request('/admin/events', WRONG_KEY)).status,
        (await request('/admin/events', null)).status,
        // A bearer key sent to routes that are not /admin: headers are never logged either.
        (await request('/health', KEY)).status,
        (await request('/webhook', OTHER_KEY)).status,
      ];
      expect(statuses).toEqual([200, 200, 200, 200, 200, 400, 404, 202, 401, 401, 200, 200]);

      const adminLines = () =>
        service.output
          .split('\n')
          .filter((line) => line.includes('"admin request"'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      await waitFor(() => adminLines().length >= 8, { what: 'eight admin request lines' });
      const lines = adminLines();
      expect(lines.map((line) => [line.method, line.route, line.status, line.key])).toEqual([
        ['GET', '/admin/events', 200, fingerprint(KEY)],
        ['GET', '/admin/events/:eventId', 200, fingerprint(OTHER_KEY)],
        ['GET', '/admin/entities/:entityType/:entityId', 200, fingerprint(KEY)],
        ['GET', '/admin/quarantine', 200, fingerprint(OTHER_KEY)],
        ['GET', '/admin/dead-letters', 200, fingerprint(KEY)],
        ['GET', '/admin/events', 400, fingerprint(KEY)],
        ['GET', '/admin/events/:eventId', 404, fingerprint(KEY)],
        ['POST', '/admin/events/replay', 202, fingerprint(KEY)],
      ]);
      for (const line of lines)
        expect(line).toMatchObject({ msg: 'admin request', durationMs: expect.any(Number) });
      // The two refused requests never reach the handler: their request lines say why, at warn.
      const refused = service.output
        .split('\n')
        .filter((line) => line.includes('"statusCode":401') && line.includes('/admin/events'))
        .map((line) => JSON.parse(line) as { level: number; reason?: string });
      expect(refused.map(({ level, reason }) => [level, reason])).toEqual([
        [40, 'the bearer key is not one of ADMIN_API_KEYS or ADMIN_READ_KEYS'],
        [40, 'Authorization: Bearer <key> is required'],
      ]);

      for (const secret of [KEY, OTHER_KEY, WRONG_KEY, TEST_SECRET, OTHER_SECRET]) {
        expect(service.output).not.toContain(secret);
        for (const answer of answers) expect(answer).not.toContain(secret);
      }
      expect(answers).toHaveLength(statuses.length);
    });

    it('/docs-json describes the operations routes with bearer auth and shows no key or secret', async () => {
      const res = await fetch(`${service.url}/docs-json`);
      expect(res.status).toBe(200);
      const raw = await res.text();
      const document = JSON.parse(raw) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
        components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      };
      expect(Object.keys(document.paths)).toEqual(
        expect.arrayContaining(['/webhook', '/admin/events', '/admin/quarantine/{id}/replay']),
      );
      expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(document.paths['/admin/dead-letters'].get.security).toEqual([{ bearer: [] }]);
      for (const secret of [KEY, OTHER_KEY, TEST_SECRET, OTHER_SECRET]) expect(raw).not.toContain(secret);
      const ui = await fetch(`${service.url}/docs`);
      const html = await ui.text();
      for (const secret of [KEY, OTHER_KEY, TEST_SECRET, OTHER_SECRET]) expect(html).not.toContain(secret);
    });
  });
});
