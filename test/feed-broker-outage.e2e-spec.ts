import { Client } from 'pg';
import { startApp, type TestApp } from './support/app';
import { PrivateBroker } from './support/broker';
import { Db } from './support/db';
import { outboxEvents, postAll, shuffledStream } from './support/feed-checks';
import { FeedQueue } from './support/feed-queue';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';
import { LEASES } from '../src/database/session-lease';

/*
 * The feed while RabbitMQ is away: a private broker node (port 5741) whose application the test stops
 * and starts, the service (APP_ROLE=all, in this process) and the consumer's durable queue on it.
 */

/** The feed relay's lease (src/database/session-lease.ts). */
const RELAY_LEASE = [LEASES.feedRelay.classId, LEASES.feedRelay.objId];

interface Health {
  status: string;
  details: Record<string, { status: string; state?: string }>;
}

describe('the feed while the broker is stopped (private RabbitMQ node)', () => {
  const broker = new PrivateBroker(5741);
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let feed: FeedQueue;
  /** Holds the relay's lease from before the service starts, so its relay stands by (first test). */
  let lease: Client;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_outage');
    lease = new Client({ connectionString: scratch.url });
    await lease.connect();
    await lease.query('SELECT pg_advisory_lock($1, $2)', RELAY_LEASE);
    await broker.start();
    feed = await FeedQueue.bind(`omni-feed-outage-${process.pid}`, { url: broker.url });
    app = await startApp({
      APP_ROLE: 'all',
      AMQP_URL: broker.url,
      AMQP_PREFIX: `omni-feed-outage-${process.pid}`,
      DATABASE_URL: scratch.url,
      PUBLISH_TIMEOUT_MS: '2000',
    });
    db = await Db.connect(scratch.url);
  }, 120_000);

  afterAll(async () => {
    await lease?.end().catch(() => undefined);
    await app?.close();
    await feed?.delete().catch(() => undefined);
    await broker.stop();
    await db?.close();
    await scratch?.drop();
  }, 60_000);

  const health = async () => {
    const res = await fetch(`${app.url}/health`);
    return { code: res.status, body: (await res.json()) as Health };
  };

  /** Starts the broker application again and consumes the (durable) queue again. */
  async function restartBroker() {
    await broker.startApp();
    await waitFor(
      async () => {
        await feed.reconnect();
        return true;
      },
      { timeoutMs: 30000, intervalMs: 250, what: 'feed queue reconnected' },
    );
    // Every connection of the service is back (each reconnects with its own back-off).
    await waitFor(async () => (await health()).code === 200, { timeoutMs: 30000, what: '/health 200 again' });
  }

  it('keeps what was stored in the outbox while the broker is down and publishes all of it afterwards', async () => {
    // The relay stands by (the lease is held since before the service started) while the stream
    // is stored, so the outbox owes all of it when the broker goes away.
    const { eventIds, bodies } = shuffledStream(`bo-${Date.now()}`, {
      messages: 20,
      revisions: 50,
      perDelivery: 50,
      seed: 4,
    });
    try {
      expect(new Set(await postAll(app.url, bodies, 4))).toEqual(new Set([200]));
      await waitFor(async () => (await db.count('SELECT count(*) FROM webhook_events')) === eventIds.length, {
        timeoutMs: 30000,
        what: 'the stream stored',
      });
      expect(await outboxEvents(db)).toBe(eventIds.length);
      await broker.stopApp();
    } finally {
      await lease.query('SELECT pg_advisory_unlock($1, $2)', RELAY_LEASE);
    }

    // The relay leads now but cannot publish: /health says so, and the outbox keeps everything.
    const down = await waitFor(
      async () => {
        const { code, body } = await health();
        return code === 503 && body.details.feed?.state === 'waiting for the broker' ? body : null;
      },
      { timeoutMs: 20000, what: '/health showing the feed waiting for the broker' },
    );
    expect(down.details.feed.status).toBe('down');
    expect(down.details.rabbitmq.status).toBe('down');
    const refused = await postWebhook(app.url, JSON.stringify(envelope()));
    expect(refused.status).toBe(503);
    expect(await outboxEvents(db)).toBe(eventIds.length);
    expect(feed.copies).toHaveLength(0);
    // The sampled gauges report the debt (every 5 s).
    await waitFor(
      async () => {
        const metrics = await (await fetch(`${app.url}/metrics`)).text();
        const oldest = Number(/^webhook_feed_outbox_oldest_seconds (\S+)$/m.exec(metrics)?.[1]);
        return metrics.includes(`\nwebhook_feed_outbox_events ${eventIds.length}\n`) && oldest > 0;
      },
      { timeoutMs: 12000, what: 'webhook_feed_outbox_events and _oldest_seconds' },
    );

    await restartBroker();
    await waitFor(async () => (await outboxEvents(db)) === 0, { timeoutMs: 30000, what: 'outbox drained' });
    await feed.waitForAll(eventIds, 30000);
    await waitFor(async () => (await health()).body.details.feed?.state === 'relaying', { what: 'relaying' });
    expect(feed.counts().size).toBe(eventIds.length);
  }, 120_000);

  it('publishes every acknowledged event when the broker stops in the middle of a stream', async () => {
    feed.clear();
    // A stream that goes on until the broker is gone: two senders post 50-event batches (40
    // messages, rising revisions) until each has seen its POSTs refused after the stop.
    const run = Date.now().toString(36);
    const bodies: string[] = [];
    const statuses: number[] = [];
    let stopping = false;
    let refusedAfterStop = 0;
    const sender = async () => {
      while (refusedAfterStop < 4 && bodies.length < 400) {
        const i = bodies.length;
        bodies.push(
          JSON.stringify(
            Array.from({ length: 50 }, (_, j) =>
              envelope({
                eventId: `bm-${run}-${i}-${j}`,
                payload: { id: `bm-${run}-m${j % 40}` },
                revision: i + 1,
              }),
            ),
          ),
        );
        const res = await postWebhook(app.url, bodies[i]).catch(() => null);
        statuses[i] = res?.status ?? 0;
        await res?.arrayBuffer();
        if (statuses[i] !== 200 && stopping) refusedAfterStop++;
      }
    };
    const posting = Promise.all([sender(), sender()]);
    await waitFor(() => feed.copies.length >= 300, {
      timeoutMs: 30000,
      what: 'the relay publishing the stream',
    });
    const copiesAtStop = feed.copies.length;
    stopping = true;
    const postedBeforeStop = bodies.length;
    await broker.stopApp();
    await posting;
    const acknowledged = bodies
      .filter((_, i) => statuses[i] === 200)
      .flatMap((body) => (JSON.parse(body) as { eventId: string }[]).map((event) => event.eventId));
    const down = await waitFor(
      async () => {
        const { code, body } = await health();
        return code === 503 && body.details.feed?.status === 'down' ? body : null;
      },
      { timeoutMs: 20000, what: '/health showing the feed down' },
    );
    const owedWhileDown = await outboxEvents(db);
    const storedWhileDown = await db.count('SELECT count(*) FROM webhook_events WHERE event_id LIKE $1', [
      'bm-%',
    ]);

    await restartBroker();
    await waitFor(async () => (await outboxEvents(db)) === 0, { timeoutMs: 30000, what: 'outbox drained' });
    await feed.waitForAll(acknowledged, 30000, 'acknowledged events');
    const counts = feed.counts();
    console.log(
      `broker stopped mid-stream: ${copiesAtStop} copies before the stop; ${acknowledged.length} of ${bodies.length * 50} ` +
        `events acknowledged; while down: ${storedWhileDown} stored, ${owedWhileDown} in the outbox, feed ` +
        `"${down.details.feed.state}"; afterwards ${counts.size} distinct events on the feed, ` +
        `${feed.copies.length - counts.size} duplicates`,
    );
    expect(acknowledged.length).toBeGreaterThan(copiesAtStop);
    // Up to the stop (bar the two in flight) every POST was taken.
    expect(new Set(statuses.slice(0, postedBeforeStop - 2))).toEqual(new Set([200]));
    expect(statuses.filter((status) => status !== 200).length).toBeGreaterThan(0);
    expect(down.details.rabbitmq.status).toBe('down');
  }, 120_000);
});
