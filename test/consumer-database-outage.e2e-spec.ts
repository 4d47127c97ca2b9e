import { EventStore } from '../src/events/event.store';
import { DatabaseService } from '../src/database/database.service';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { waitFor } from './support/poll';
import { PrivatePostgres } from './support/private-postgres';
import { envelope, postWebhook } from './support/signing';

const PREFETCH = 5;
const MAX_ATTEMPTS = 2;

describe('consumer during a PostgreSQL outage (APP_ROLE=all)', () => {
  const postgres = new PrivatePostgres(55441);
  let app: TestApp;
  let probe: BrokerProbe;
  let storeCalls = 0;
  let spy: jest.SpyInstance | undefined;

  beforeAll(async () => {
    await postgres.init();
    // Observes (and passes through) every storage attempt, to know the consumer has retried.
    const original = EventStore.prototype.storeBatch;
    spy = jest.spyOn(EventStore.prototype, 'storeBatch').mockImplementation(function (
      this: EventStore,
      batch,
    ) {
      storeCalls++;
      return original.call(this, batch);
    });
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: postgres.url,
      CONSUMER_PREFETCH: String(PREFETCH),
      CONSUMER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    });
    await app.app.get(DatabaseService).ready;
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, { what: 'ready' });
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    spy?.mockRestore();
    await app?.close();
    if (app) await probe?.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    await postgres.destroy();
  });

  const status = async (path: string) => (await fetch(`${app.url}${path}`)).status;

  it('keeps accepting while PostgreSQL is down, never dead-letters, and stores everything once it is back', async () => {
    const topology = topologyFor(app.env.AMQP_PREFIX);
    const db = await Db.connect(postgres.url);
    const first = envelope();
    try {
      expect((await postWebhook(app.url, JSON.stringify(first))).status).toBe(200);
      await waitFor(async () => (await db.count('SELECT count(*) FROM webhook_events')) === 1, {
        what: 'the first event stored',
      });
      await waitFor(async () => (await status('/health')) === 200, { what: 'healthy before the outage' });
    } finally {
      await db.close();
    }

    await postgres.stop('fast');
    try {
      // Monitoring sees PostgreSQL down; the load balancer keeps this api-serving instance in the pool.
      await waitFor(async () => (await status('/health')) === 503, { what: '/health 503', timeoutMs: 20000 });
      const health = (await (await fetch(`${app.url}/health`)).json()) as {
        error?: { postgres?: { status: string } };
        details?: { postgres?: { status: string } };
      };
      expect(health.error?.postgres?.status ?? health.details?.postgres?.status).toBe('down');
      expect(await status('/health/ready')).toBe(200);
      expect(await status('/health/live')).toBe(200);

      // N deliveries, singles and batches: every one answered 200.
      const sent: Record<string, unknown>[] = [];
      const deliveries = 30;
      for (let i = 0; i < deliveries; i++) {
        const events = i % 3 === 0 ? [envelope(), envelope(), envelope()] : [envelope()];
        sent.push(...events);
        const body = i % 3 === 0 ? JSON.stringify(events) : JSON.stringify(events[0]);
        const res = await postWebhook(app.url, body);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ accepted: events.length, quarantined: 0 });
      }
      expect(await status('/health/ready')).toBe(200);

      // The consumer keeps failing to store and keeps retrying past CONSUMER_MAX_ATTEMPTS…
      const callsAtOutage = storeCalls;
      await waitFor(() => storeCalls - callsAtOutage > MAX_ATTEMPTS + 2, {
        what: 'storage retried past the attempt limit',
        timeoutMs: 30000,
      });
      // …without dead-lettering anything; the queue holds every delivery (at most PREFETCH in the consumer's hands).
      expect(await probe.messageCount(topology.deadLetterQueue)).toBe(0);
      const ready = await probe.messageCount(topology.queue);
      expect(ready).toBeGreaterThanOrEqual(deliveries - PREFETCH);
      expect(ready).toBeLessThanOrEqual(deliveries);

      await postgres.start();
      const db2 = await Db.connect(postgres.url);
      try {
        const ids = sent.map((e) => e.eventId as string);
        await waitFor(
          async () =>
            (await db2.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [ids])) ===
            ids.length,
          { what: `all ${ids.length} events stored after the outage`, timeoutMs: 30000 },
        );
        expect(await db2.count('SELECT count(*) FROM webhook_events')).toBe(ids.length + 1);
        expect(await db2.count('SELECT count(DISTINCT event_id) FROM webhook_events')).toBe(ids.length + 1);
        await waitFor(async () => (await probe.messageCount(topology.queue)) === 0, {
          what: 'main queue empty',
        });
        expect(await probe.messageCount(topology.deadLetterQueue)).toBe(0);
        await waitFor(async () => (await status('/health')) === 200, {
          what: '/health 200 again',
          timeoutMs: 20000,
        });
        expect(await status('/health/ready')).toBe(200);
      } finally {
        await db2.close();
      }
    } finally {
      // If an assertion failed mid-outage, leave the cluster running for destroy() to stop.
      await postgres.start().catch(() => undefined);
    }
  });
});
