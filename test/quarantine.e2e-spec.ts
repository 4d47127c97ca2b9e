import { randomUUID } from 'node:crypto';
import { StorageMetrics } from '../src/consumer/storage.metrics';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { DirectPublisher } from './support/direct-publish';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

interface QuarantineRow {
  reason: string;
  body: Buffer;
  item_index: number | null;
  delivery_id: string;
  received_at: Date;
}

/**
 * What cannot be stored is kept, item by item, and never holds back its neighbours: a batch with
 * one hostile item stores the rest and quarantines that item with the reason; the dead-letter queue
 * is only for a delivery whose quarantine cannot be written either.
 */
describe('quarantine and dead letters', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('quarantine');
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, CONSUMER_MAX_ATTEMPTS: '2' });
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
    await waitFor(async () => (await db.rows(`SELECT to_regclass('feed_outbox') AS t`))[0].t !== null, {
      timeoutMs: 30000,
      what: 'migrations applied',
    });
  });

  afterAll(async () => {
    await app?.close();
    if (app) await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    await db?.close();
    await scratch?.drop();
  });

  const topology = () => topologyFor(app.env.AMQP_PREFIX);

  async function deliver(body: string | Buffer, status = 200): Promise<string> {
    const res = await postWebhook(app.url, body);
    expect(res.status).toBe(status);
    return res.headers.get('x-delivery-id')!;
  }

  const quarantineOf = (deliveryId: string) =>
    db.rows<QuarantineRow>(
      'SELECT * FROM quarantined_deliveries WHERE delivery_id = $1 ORDER BY item_index',
      [deliveryId],
    );
  const storedCount = (deliveryId: string) =>
    db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId]);

  /** A payload nested `levels` deep, as JSON text (JSON.stringify cannot go that deep in a test). */
  const DEEP = '"__deep__"';
  const deep = (levels: number) => ({ deepJson: `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}` });
  const hostile: [string, Record<string, unknown> & { payload?: unknown }, 'quarantined' | 'stored'][] = [
    ['a NUL character in a payload field', { payload: { id: 'm-nul', text: 'a\u0000b' } }, 'quarantined'],
    ['a NUL character in a payload key', { payload: { id: 'm-key', 'k\u0000': 1 } }, 'quarantined'],
    ['a NUL character in the eventId', { eventId: `evt-\u0000-${randomUUID()}` }, 'quarantined'],
    ['a lone surrogate', { payload: { id: 'm-sur', text: '\ud800' } }, 'quarantined'],
    ['an eventId of 20,000 characters', { eventId: 'e'.repeat(20000) }, 'quarantined'],
    ['an id of 20,000 characters', { payload: { id: 'm'.repeat(20000) } }, 'quarantined'],
    ['a payload nested 20,000 levels (PostgreSQL refuses it)', { payload: deep(20000) }, 'quarantined'],
    ['a payload nested 5,000 levels (PostgreSQL keeps it)', { payload: deep(5000) }, 'stored'],
    ['a timestamp of year 0000 (stored, without a time)', { timestamp: '0000-01-01T00:00:00Z' }, 'stored'],
    ['a timestamp of year 99999 (stored, without a time)', { timestamp: '99999-01-01T00:00:00Z' }, 'stored'],
  ];

  it.each(hostile)(
    'stores 499 events of a 500-item batch with %s, and keeps the item',
    async (_, fields, fate) => {
      const items = Array.from({ length: 500 }, () => envelope());
      const deepText = (fields.payload as { deepJson?: string } | undefined)?.deepJson;
      const bad = envelope(deepText ? { ...fields, payload: '__deep__' } : fields);
      items[137] = bad;
      const badText = deepText ? JSON.stringify(bad).replace(DEEP, deepText) : JSON.stringify(bad);
      const body = deepText ? JSON.stringify(items).replace(DEEP, deepText) : JSON.stringify(items);
      const deliveryId = await deliver(body);
      const good = items.filter((item) => item !== bad).map((item) => item.eventId as string);

      await waitFor(
        async () => (await storedCount(deliveryId)) + (await quarantineOf(deliveryId)).length === 500,
        {
          timeoutMs: 30000,
          what: 'every item stored or kept',
        },
      );
      const stored = await db.rows<{ event_id: string; event_timestamp: Date | null }>(
        'SELECT event_id, event_timestamp FROM webhook_events WHERE delivery_id = $1',
        [deliveryId],
      );
      expect(stored.map((row) => row.event_id)).toEqual(expect.arrayContaining(good));
      const rows = await quarantineOf(deliveryId);
      if (fate === 'quarantined') {
        expect(stored).toHaveLength(499);
        expect(rows).toHaveLength(1);
        expect(rows[0].item_index).toBe(137);
        expect(rows[0].reason).toMatch(/^(cannot be stored|storage failed): /);
        // The item's own bytes, exactly as they stand in the signed body.
        expect(rows[0].body.toString()).toBe(badText);
      } else {
        expect(stored).toHaveLength(500);
        expect(rows).toEqual([]);
        if ('timestamp' in fields)
          expect(stored.find((row) => row.event_id === bad.eventId)?.event_timestamp).toBeNull();
      }
      expect(await probe.messageCount(topology().deadLetterQueue)).toBe(0);
    },
  );

  it('keeps 3,000 bad items of one body in about the size of that body, not 3,000 copies of it', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({
      name: 'message.sent',
      note: `no eventId ${i}`.padEnd(96),
    }));
    const body = Buffer.from(JSON.stringify(items));
    const deliveryId = await deliver(body);
    await waitFor(async () => (await quarantineOf(deliveryId)).length === 3000, {
      timeoutMs: 30000,
      what: '3,000 items kept',
    });
    const [{ bytes }] = await db.rows<{ bytes: string }>(
      'SELECT sum(octet_length(body)) AS bytes FROM quarantined_deliveries WHERE delivery_id = $1',
      [deliveryId],
    );
    expect(Number(bytes)).toBeLessThanOrEqual(body.length);
    expect(Number(bytes)).toBeGreaterThan(body.length * 0.99);
  });

  it('keeps a malformed delivery whole with its exact bytes, answered 400', async () => {
    const body = Buffer.from('{"eventId": "half-a-json", "name": ', 'utf8');
    const deliveryId = await deliver(body, 400);
    const [row] = await waitFor(async () => {
      const rows = await quarantineOf(deliveryId);
      return rows.length > 0 ? rows : null;
    });
    expect(row.body.equals(body)).toBe(true);
    expect(row.item_index).toBeNull();
    expect(row.reason).toBe('body is not valid JSON');
    expect(await storedCount(deliveryId)).toBe(0);
  });

  it('does not quarantine a redelivered delivery twice', async () => {
    const publisher = await DirectPublisher.connect(app.env.AMQP_PREFIX);
    try {
      const before = await eventCounts(app.app);
      const body = Buffer.from('<xml>not json</xml>', 'utf8');
      const deliveryId = `redelivered-${randomUUID()}`;
      const receivedAt = new Date();
      const batchBody = Buffer.from(JSON.stringify([envelope(), 42]), 'utf8');
      const batchId = `redelivered-batch-${randomUUID()}`;
      const sentinel = envelope();
      // The same message twice (as after a crash before the ack), then a sentinel behind them.
      await publisher.publish([
        { body, deliveryId, receivedAt, itemCount: 0 },
        { body, deliveryId, receivedAt, itemCount: 0 },
        { body: batchBody, deliveryId: batchId, receivedAt, itemCount: 2 },
        { body: batchBody, deliveryId: batchId, receivedAt, itemCount: 2 },
      ]);
      await publisher.publish([{ body: Buffer.from(JSON.stringify(sentinel)) }]);
      await waitFor(
        async () =>
          (await db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', [sentinel.eventId])) ===
          1,
        { what: 'the sentinel stored, so everything before it was consumed' },
      );
      const rows = await db.rows<QuarantineRow>(
        'SELECT * FROM quarantined_deliveries WHERE delivery_id = ANY($1) ORDER BY item_index NULLS FIRST',
        [[deliveryId, batchId]],
      );
      expect(rows.map((r) => [r.delivery_id, r.item_index])).toEqual([
        [deliveryId, null],
        [batchId, 1],
      ]);
      expect(rows[0].body.equals(body)).toBe(true);
      expect(rows[1].body.toString()).toBe('42');
      expect(rows.every((r) => r.received_at.getTime() === receivedAt.getTime())).toBe(true);
      expect((await eventCounts(app.app)).quarantined - before.quarantined).toBe(1);
      expect(await storedCount(batchId)).toBe(1);
    } finally {
      await publisher.close();
    }
  });

  it('dead-letters a delivery only when its quarantine cannot be written either, and stores its batch neighbours', async () => {
    // A test-only failure of every quarantine write (the test database's user is a superuser, which
    // no permission can stop): the last resort must be taken.
    await db.rows(`CREATE FUNCTION refuse_quarantine() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN RAISE EXCEPTION 'quarantine refused by the test'; END $$`);
    await db.rows(`CREATE TRIGGER refuse_quarantine BEFORE INSERT ON quarantined_deliveries
                   FOR EACH ROW EXECUTE FUNCTION refuse_quarantine()`);
    try {
      const neighbours = [envelope(), envelope()];
      const bad = envelope({ payload: { id: 'm-dl', text: 'a\u0000b' } });
      const publisher = await DirectPublisher.connect(app.env.AMQP_PREFIX);
      const [, badId] = await publisher
        .publish(
          [neighbours[0], bad, neighbours[1]].map((item) => ({ body: Buffer.from(JSON.stringify(item)) })),
        )
        .finally(() => publisher.close());
      await waitFor(async () => (await probe.messageCount(topology().deadLetterQueue)) === 1, {
        timeoutMs: 30000,
        what: 'one dead letter',
      });
      for (const neighbour of neighbours) {
        expect(
          await db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', [neighbour.eventId]),
        ).toBe(1);
      }
      const [letter] = await probe.drain(topology().deadLetterQueue);
      expect(letter.properties.headers?.['x-delivery-id']).toBe(badId);
      expect(String(letter.properties.headers?.['x-failure-reason'])).toMatch(
        /quarantine refused by the test/,
      );
      expect(letter.content.toString()).toBe(JSON.stringify(bad));
      expect((await app.app.get(StorageMetrics).deadLettered.get()).values).toEqual([
        expect.objectContaining({ labels: { reason: 'storage_failed' }, value: 1 }),
      ]);
    } finally {
      await db.rows('DROP TRIGGER refuse_quarantine ON quarantined_deliveries');
      await db.rows('DROP FUNCTION refuse_quarantine()');
    }
  });
});
