import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { waitFor } from './support/poll';
import { envelope, postWebhook } from './support/signing';

/** Nothing listens on port 1: PostgreSQL is unreachable from the start. */
const UNREACHABLE_DATABASE = 'postgres://postgres@127.0.0.1:1/postgres';

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
      { APP_ROLE: 'all', DATABASE_URL: UNREACHABLE_DATABASE },
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
