import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { waitFor } from './support/poll';
import { envelope, postWebhook } from './support/signing';

/** Nothing listens on port 1: PostgreSQL is unreachable from the start. */
const UNREACHABLE_DATABASE = 'postgres://postgres@127.0.0.1:1/postgres';
const ADMIN_KEY = 'readiness-admin-key-0123456789abcdef';

describe('readiness when PostgreSQL is unreachable from start-up', () => {
  const apps: TestApp[] = [];
  let probe: BrokerProbe;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    for (const app of apps) {
      await app.close();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
    }
    await probe.close();
  });

  it('keeps an `all` instance in the pool: ready, accepting, /health naming PostgreSQL down', async () => {
    const app = await startApp(
      { APP_ROLE: 'all', DATABASE_URL: UNREACHABLE_DATABASE, ADMIN_API_KEYS: ADMIN_KEY },
      { waitUntilReady: false },
    );
    apps.push(app);
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, {
      what: 'all role ready',
    });

    const res = await postWebhook(app.url, JSON.stringify(envelope()));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, quarantined: 0 });

    const health = await fetch(`${app.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ error: { postgres: { status: 'down' } } });

    // The operations API and the console need the tables: 503 with Retry-After until the
    // migrations have put them in place, not a 500 (a wrong key is still 401 first).
    const admin = await fetch(`${app.url}/admin/events`, {
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(admin.status).toBe(503);
    expect(admin.headers.get('retry-after')).toBe('5');
    expect(await admin.json()).toMatchObject({ message: expect.stringMatching(/migrations/) });
    const stranger = await fetch(`${app.url}/admin/events`, { headers: { Authorization: 'Bearer nope' } });
    expect(stranger.status).toBe(401);
    const login = await fetch(`${app.url}/console/login`);
    expect(login.status).toBe(503);
    expect(await login.text()).toMatch(/Not available: the database is not ready/);
  });

  it('keeps a worker out of the pool until it can store', async () => {
    const app = await startApp(
      { APP_ROLE: 'worker', DATABASE_URL: UNREACHABLE_DATABASE },
      { waitUntilReady: false },
    );
    apps.push(app);
    // The database check answers within its 2 s timeout; the worker never becomes ready.
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ error: { postgres: { status: 'down' } } });
    expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
  });
});
