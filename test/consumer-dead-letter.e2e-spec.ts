import type { GetMessage } from 'amqplib';
import { EventProcessor } from '../src/consumer/event.processor';
import type { DeliveryMessage } from '../src/messaging/delivery-message';
import { DeliveryHeaders } from '../src/messaging/delivery-message';
import { topologyFor } from '../src/messaging/topology';
import { Metrics } from '../src/metrics/metrics.service';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { DirectPublisher } from './support/direct-publish';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { envelope, postWebhook } from './support/signing';

interface QuarantineRow {
  reason: string;
  body: Buffer;
  item_index: number | null;
  delivery_id: string;
  received_at: Date;
}

describe('dead-lettering and quarantine', () => {
  let api: TestApp;
  let worker: TestApp | undefined;
  let db: Db;
  let probe: BrokerProbe;
  let prefix: string;
  const deadLetters: GetMessage[] = [];
  /** The deliveries of each call to EventProcessor.process, observed (not changed) in the worker. */
  const batches: string[][] = [];
  let spy: jest.SpyInstance | undefined;

  beforeAll(async () => {
    api = await startApp({ APP_ROLE: 'api' });
    prefix = api.env.AMQP_PREFIX;
    db = await Db.connect();
    probe = await BrokerProbe.connect();
    await waitFor(async () => (await fetch(`${api.url}/health/ready`)).status === 200, { what: 'api ready' });
  });

  afterAll(async () => {
    spy?.mockRestore();
    await worker?.close();
    await api?.close();
    if (prefix) await probe?.deleteTopology(prefix);
    await probe?.close();
    await db?.close();
  });

  const topology = () => topologyFor(prefix);

  async function deliver(body: string | Buffer, expected: { status: number; json?: unknown }) {
    const res = await postWebhook(api.url, body);
    expect(res.status).toBe(expected.status);
    if (expected.json) expect(await res.json()).toEqual(expected.json);
    return res.headers.get('x-delivery-id')!;
  }

  const storedIds = async (ids: string[]) =>
    (
      await db.rows<{ event_id: string }>('SELECT event_id FROM webhook_events WHERE event_id = ANY($1)', [
        ids,
      ])
    ).map((row) => row.event_id);

  it('dead-letters a delivery PostgreSQL rejects for good, with its reason and exact bytes, and stores the rest of its batch', async () => {
    // Deliveries queue up while no worker runs, so the worker takes them together in batches.
    const lead = JSON.stringify(envelope());
    const goods = [0, 1, 2, 3].map(() => JSON.stringify(envelope()));
    // A NUL character: valid JSON, but jsonb has no way to hold \u0000 (SQLSTATE 22P05).
    const nulInPayload = JSON.stringify(envelope({ payload: { messageId: 'm-nul', text: 'a\u0000b' } }));
    // A NUL byte in a text column: PostgreSQL rejects it in any text value.
    const nulInEventId = JSON.stringify(envelope({ eventId: `evt-nul-\u0000-${Date.now()}` }));

    const leadId = await deliver(lead, { status: 200, json: { accepted: 1, quarantined: 0 } });
    const ids: Record<string, string> = {};
    ids.good0 = await deliver(goods[0], { status: 200 });
    ids.badPayload = await deliver(nulInPayload, { status: 200, json: { accepted: 1, quarantined: 0 } });
    ids.good1 = await deliver(goods[1], { status: 200 });
    ids.badEventId = await deliver(nulInEventId, { status: 200, json: { accepted: 1, quarantined: 0 } });
    ids.good2 = await deliver(goods[2], { status: 200 });
    ids.good3 = await deliver(goods[3], { status: 200 });
    expect(await probe.messageCount(topology().queue)).toBe(7);

    const original = EventProcessor.prototype.process;
    spy = jest.spyOn(EventProcessor.prototype, 'process').mockImplementation(function (
      this: EventProcessor,
      batch: readonly DeliveryMessage[],
      signal: AbortSignal,
    ) {
      batches.push(batch.map((delivery) => delivery.deliveryId));
      return original.call(this, batch, signal);
    });
    worker = await startApp({ APP_ROLE: 'worker', AMQP_PREFIX: prefix });

    const goodEventIds = [lead, ...goods].map((body) => JSON.parse(body).eventId as string);
    await waitFor(async () => (await storedIds(goodEventIds)).length === goodEventIds.length, {
      timeoutMs: 30000,
      what: 'the good deliveries stored',
    });
    await waitFor(async () => (await probe.messageCount(topology().deadLetterQueue)) === 2, {
      timeoutMs: 30000,
      what: 'two dead letters',
    });
    deadLetters.push(...(await probe.drain(topology().deadLetterQueue)));

    const byDelivery = new Map(
      deadLetters.map((m) => [String(m.properties.headers?.[DeliveryHeaders.deliveryId]), m]),
    );
    expect([...byDelivery.keys()].sort()).toEqual([ids.badPayload, ids.badEventId].sort());
    const badPayload = byDelivery.get(ids.badPayload)!;
    const badEventId = byDelivery.get(ids.badEventId)!;
    expect(badPayload.content.equals(Buffer.from(nulInPayload, 'utf8'))).toBe(true);
    expect(badEventId.content.equals(Buffer.from(nulInEventId, 'utf8'))).toBe(true);
    for (const message of [badPayload, badEventId]) {
      const headers = message.properties.headers ?? {};
      expect(typeof headers[DeliveryHeaders.failureReason]).toBe('string');
      expect(String(headers[DeliveryHeaders.failedAt])).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(headers[DeliveryHeaders.receivedAt]).toEqual(expect.any(String));
      expect(message.properties.deliveryMode).toBe(2);
    }
    expect(String(badPayload.properties.headers?.[DeliveryHeaders.failureReason])).toMatch(
      /unicode|\\u0000/i,
    );
    expect(String(badEventId.properties.headers?.[DeliveryHeaders.failureReason])).toMatch(
      /0x00|byte sequence/i,
    );

    // Neither bad event is stored; every good one is, once, with its own delivery id.
    expect(
      await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = ANY($1)', [
        [ids.badPayload, ids.badEventId],
      ]),
    ).toBe(0);
    const goodRows = await db.rows<{ event_id: string; delivery_id: string }>(
      'SELECT event_id, delivery_id FROM webhook_events WHERE event_id = ANY($1)',
      [goodEventIds],
    );
    expect(goodRows).toHaveLength(goodEventIds.length);
    expect(new Set(goodRows.map((r) => r.delivery_id))).toEqual(
      new Set([leadId, ids.good0, ids.good1, ids.good2, ids.good3]),
    );

    // Each bad delivery was taken in a batch together with good deliveries, which were stored anyway.
    for (const bad of [ids.badPayload, ids.badEventId]) {
      const shared = batches.find((batch) => batch.includes(bad) && batch.length > 1);
      expect(shared).toBeDefined();
    }
    expect((await worker.app.get(Metrics).deadLettered.get()).values).toEqual([
      expect.objectContaining({ labels: { reason: 'storage_failed' }, value: 2 }),
    ]);
    await waitFor(async () => (await probe.messageCount(topology().queue)) === 0, {
      what: 'main queue empty',
    });
    expect(await probe.messageCount(topology().deadLetterQueue)).toBe(0);
  });

  it('keeps a malformed delivery in quarantine with its exact bytes, answered 400', async () => {
    const body = Buffer.from('{"eventId": "half-a-json", "name": ', 'utf8');
    const deliveryId = await deliver(body, { status: 400 });
    const [row] = await waitFor(async () => {
      const rows = await db.rows<QuarantineRow>(
        'SELECT * FROM quarantined_deliveries WHERE delivery_id = $1',
        [deliveryId],
      );
      return rows.length > 0 ? rows : null;
    });
    expect(row.body.equals(body)).toBe(true);
    expect(row.item_index).toBeNull();
    expect(row.reason).toBe('body is not valid JSON');
    expect(
      await db.count('SELECT count(*) FROM quarantined_deliveries WHERE delivery_id = $1', [deliveryId]),
    ).toBe(1);
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])).toBe(
      0,
    );
  });

  it('quarantines the one bad item of a batch by its index and stores the good events', async () => {
    const good = [envelope(), envelope(), envelope()];
    const items = [good[0], { name: 'message.sent', payload: {} }, good[1], 'not an envelope', good[2]];
    const body = Buffer.from(JSON.stringify(items, null, 1), 'utf8');
    const deliveryId = await deliver(body, { status: 200, json: { accepted: 3, quarantined: 2 } });
    const ids = good.map((e) => e.eventId as string);
    await waitFor(async () => (await storedIds(ids)).length === 3, { what: 'good events stored' });

    const rows = await db.rows<QuarantineRow>(
      'SELECT * FROM quarantined_deliveries WHERE delivery_id = $1 ORDER BY item_index',
      [deliveryId],
    );
    expect(rows.map((r) => r.item_index)).toEqual([1, 3]);
    for (const row of rows) expect(row.body.equals(body)).toBe(true);
    expect(rows[0].reason).toMatch(/eventId/);
    expect(rows[1].reason).toMatch(/not a JSON object/);
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])).toBe(
      3,
    );
  });

  it('does not quarantine a redelivered malformed delivery twice', async () => {
    const publisher = await DirectPublisher.connect(prefix);
    try {
      const before = (await eventCounts(worker!.app)).quarantined;
      const body = Buffer.from('<xml>not json</xml>', 'utf8');
      const deliveryId = `redelivered-${Date.now()}`;
      const receivedAt = new Date();
      const batchBody = Buffer.from(JSON.stringify([envelope(), 42]), 'utf8');
      const batchId = `redelivered-batch-${Date.now()}`;
      const sentinel = envelope();
      // The same message twice (as after a crash before the ack), then a sentinel behind them.
      await publisher.publish([
        { body, deliveryId, receivedAt, itemCount: 0 },
        { body, deliveryId, receivedAt, itemCount: 0 },
        { body: batchBody, deliveryId: batchId, receivedAt, itemCount: 2 },
        { body: batchBody, deliveryId: batchId, receivedAt, itemCount: 2 },
      ]);
      await publisher.publish([{ body: Buffer.from(JSON.stringify(sentinel)) }]);
      await waitFor(async () => (await storedIds([sentinel.eventId as string])).length === 1, {
        what: 'the sentinel stored, so everything before it was consumed',
      });
      await waitFor(async () => (await probe.messageCount(topology().queue)) === 0, {
        what: 'main queue empty',
      });

      const rows = await db.rows<QuarantineRow>(
        'SELECT * FROM quarantined_deliveries WHERE delivery_id = ANY($1) ORDER BY item_index NULLS FIRST',
        [[deliveryId, batchId]],
      );
      expect(rows.map((r) => [r.delivery_id, r.item_index])).toEqual([
        [deliveryId, null],
        [batchId, 1],
      ]);
      expect(rows[0].body.equals(body)).toBe(true);
      expect(rows[1].body.equals(batchBody)).toBe(true);
      expect(rows.every((r) => r.received_at.getTime() === receivedAt.getTime())).toBe(true);
      expect((await eventCounts(worker!.app)).quarantined - before).toBe(2);
      expect(await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [batchId])).toBe(1);
      expect(await probe.messageCount(topology().deadLetterQueue)).toBe(0);
    } finally {
      await publisher.close();
    }
  });
});
