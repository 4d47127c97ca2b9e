import { createHash, randomUUID } from 'node:crypto';
import { StorageMetrics } from '../src/consumer/storage.metrics';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

const KEY = 'admin-key-of-the-quarantine-tests-0123456789';

interface Item {
  id: number;
  receivedAt: string;
  reason: string;
  itemIndex: number | null;
  deliveryId: string;
  bytes: number;
  replayedAt: string | null;
  replayDeliveryId: string | null;
}
interface Detail extends Item {
  body: string;
  text: string | null;
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}
interface Row {
  id: string;
  received_at: Date;
  reason: string;
  item_index: number | null;
  delivery_id: string;
  body: Buffer;
  replayed_at: Date | null;
  replay_delivery_id: string | null;
}

/**
 * The quarantine and the dead-letter queue through the operations API, against the real consumer:
 * list (filters, pages), show (bytes as base64 and as text), replay (through the normal path, under
 * a new delivery id, with the audit columns set), and dead letters counted, moved back and stored
 * once their cause is gone.
 */
describe('operations API: quarantine and dead letters', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;

  const truncated = Buffer.from('{"eventId": "half-a-json", "name": ', 'utf8');
  const notUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
  const good = envelope();
  const batch = `[${JSON.stringify(good)},42,{"name":"message.sent","note":"no eventId"}]`;
  const accepted = envelope({ name: 'message.sent' });
  const handTimes = [3, 2, 1].map((hours) => new Date(Date.now() - hours * 3_600_000));
  const handIds: string[] = [];
  let truncatedId: string;
  let notUtf8Id: string;
  let batchId: string;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('admin_quarantine');
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      ADMIN_API_KEYS: KEY,
      CONSUMER_MAX_ATTEMPTS: '2',
    });
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
    await waitFor(async () => (await db.rows(`SELECT to_regclass('feed_outbox') AS t`))[0].t !== null, {
      timeoutMs: 30000,
      what: 'migrations applied',
    });

    // Three rows kept by hand, hours ago; the last is a delivery today's parser accepts.
    for (const [i, at] of handTimes.entries()) {
      const body = i === 2 ? Buffer.from(JSON.stringify(accepted)) : Buffer.from(`hand-kept ${i}`);
      const [{ id }] = await db.rows<{ id: string }>(
        `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
         VALUES ($1, 'test: kept by an older parser', $2, NULL, $3) RETURNING id::text AS id`,
        [at, body, `hand-${i}-${randomUUID()}`],
      );
      handIds.push(id);
    }
    truncatedId = await deliver(truncated, 400);
    notUtf8Id = await deliver(notUtf8, 400);
    batchId = await deliver(Buffer.from(batch), 200);
    await waitFor(async () => (await db.count('SELECT count(*) FROM quarantined_deliveries')) === 7, {
      timeoutMs: 30000,
      what: 'seven rows kept',
    });
  });

  afterAll(async () => {
    await app?.close();
    if (app) await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    await db?.close();
    await scratch?.drop();
  });

  async function deliver(body: Buffer, status: number): Promise<string> {
    const res = await postWebhook(app.url, body);
    expect(res.status).toBe(status);
    await res.arrayBuffer();
    return res.headers.get('x-delivery-id')!;
  }

  const admin = (
    path: string,
    method = 'GET',
    body = method === 'POST' ? '{"reason":"e2e test"}' : undefined,
  ) => fetch(`${app.url}/admin${path}`, { method, body, headers: { Authorization: `Bearer ${KEY}` } });
  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  const rowsNow = () =>
    db.rows<Row>(
      `SELECT id::text AS id, received_at, reason, item_index, delivery_id, body, replayed_at, replay_delivery_id
         FROM quarantined_deliveries`,
    );
  /** The expected list, computed here: newest first, then by id descending. */
  const newestFirst = (rows: Row[]) =>
    [...rows]
      .sort((a, b) => b.received_at.getTime() - a.received_at.getTime() || Number(b.id) - Number(a.id))
      .map((row) => Number(row.id));

  async function allPages(params: Record<string, string>, limit: number): Promise<number[]> {
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ ...params, limit: String(limit), ...(cursor ? { cursor } : {}) });
      const res = await admin(`/quarantine?${query.toString()}`);
      expect(res.status).toBe(200);
      const page = await json<Page>(res);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor && ids.length < 100);
    expect(new Set(ids).size).toBe(ids.length);
    return ids;
  }

  describe('list', () => {
    it('lists every kept delivery and item newest first, with their fields', async () => {
      const rows = await rowsNow();
      const page = await json<Page>(await admin('/quarantine'));
      expect(page.nextCursor).toBeNull();
      expect(page.items.map((item) => item.id)).toEqual(newestFirst(rows));
      const byId = new Map(rows.map((row) => [Number(row.id), row]));
      for (const item of page.items) {
        const row = byId.get(item.id)!;
        expect(item).toEqual({
          id: Number(row.id),
          receivedAt: row.received_at.toISOString(),
          reason: row.reason,
          itemIndex: row.item_index,
          deliveryId: row.delivery_id,
          bytes: row.body.length,
          replayedAt: null,
          replayDeliveryId: null,
          resolvedAt: null,
          resolvedReason: null,
        });
      }
      const kept = (deliveryId: string) => page.items.filter((item) => item.deliveryId === deliveryId);
      expect(kept(truncatedId)).toEqual([
        expect.objectContaining({
          itemIndex: null,
          reason: 'body is not valid JSON',
          bytes: truncated.length,
        }),
      ]);
      expect(kept(notUtf8Id)).toEqual([expect.objectContaining({ itemIndex: null, bytes: notUtf8.length })]);
      expect(kept(batchId).map((item) => item.itemIndex)).toEqual([2, 1]);
    });

    it('pages one at a time through every row, none lost or repeated', async () => {
      expect(await allPages({}, 1)).toEqual(newestFirst(await rowsNow()));
      expect(await allPages({}, 3)).toEqual(newestFirst(await rowsNow()));
    });

    it('filters on deliveryId', async () => {
      expect(await allPages({ deliveryId: batchId }, 1)).toEqual(
        newestFirst((await rowsNow()).filter((row) => row.delivery_id === batchId)),
      );
      expect(await allPages({ deliveryId: 'no-such-delivery' }, 10)).toEqual([]);
    });

    it('reads since as inclusive and until as exclusive', async () => {
      const rows = await rowsNow();
      const iso = (i: number, deltaMs = 0) => new Date(handTimes[i].getTime() + deltaMs).toISOString();
      expect(await allPages({ since: iso(1) }, 2)).toEqual(
        newestFirst(rows.filter((row) => row.received_at >= handTimes[1])),
      );
      expect(await allPages({ since: iso(1) }, 50)).toContain(Number(handIds[1]));
      expect(await allPages({ since: iso(1, 1) }, 50)).not.toContain(Number(handIds[1]));
      expect(await allPages({ until: iso(1) }, 50)).toEqual([Number(handIds[0])]);
      expect(await allPages({ until: iso(1, 1) }, 50)).toEqual([Number(handIds[1]), Number(handIds[0])]);
      expect(await allPages({ since: iso(0), until: iso(2, 1) }, 1)).toEqual(
        [...handIds].reverse().map(Number),
      );
    });
  });

  describe('show', () => {
    const show = async (id: string | number) => json<Detail>(await admin(`/quarantine/${id}`));
    const idOf = async (deliveryId: string, itemIndex: number | null = null) =>
      (await rowsNow()).find((row) => row.delivery_id === deliveryId && row.item_index === itemIndex)!.id;

    it('gives the kept bytes as base64 and as UTF-8 text', async () => {
      const detail = await show(await idOf(truncatedId));
      expect(Buffer.from(detail.body, 'base64').equals(truncated)).toBe(true);
      expect(detail.text).toBe(truncated.toString('utf8'));
      expect(detail).toMatchObject({ deliveryId: truncatedId, itemIndex: null, bytes: truncated.length });
    });

    it("gives an item's own bytes, as they stood in the batch", async () => {
      const second = await show(await idOf(batchId, 2));
      expect(second.text).toBe('{"name":"message.sent","note":"no eventId"}');
      const first = await show(await idOf(batchId, 1));
      expect([first.text, first.body]).toEqual(['42', Buffer.from('42').toString('base64')]);
    });

    it('gives text null for bytes that are not UTF-8, and the exact bytes in base64', async () => {
      const detail = await show(await idOf(notUtf8Id));
      expect(detail.text).toBeNull();
      expect(Buffer.from(detail.body, 'base64').equals(notUtf8)).toBe(true);
    });

    it('answers 404 for a row that does not exist, shown or replayed', async () => {
      const res = await admin('/quarantine/987654321');
      expect([res.status, (await json<{ statusCode: number }>(res)).statusCode]).toEqual([404, 404]);
      expect((await admin('/quarantine/987654321/replay', 'POST')).status).toBe(404);
    });
  });

  describe('replay', () => {
    const rowOf = async (id: string) => (await rowsNow()).find((row) => row.id === id)!;
    async function replay(id: string): Promise<string> {
      const res = await admin(`/quarantine/${id}/replay`, 'POST');
      expect(res.status).toBe(202);
      const { deliveryId } = await json<{ deliveryId: string }>(res);
      expect(deliveryId).toMatch(/^[0-9a-f-]{36}$/);
      return deliveryId;
    }
    async function expectAudited(id: string, deliveryId: string, before: number): Promise<void> {
      const row = await rowOf(id);
      expect(row.replay_delivery_id).toBe(deliveryId);
      expect(row.replayed_at!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(row.replayed_at!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      const detail = await json<Detail>(await admin(`/quarantine/${id}`));
      expect(detail).toMatchObject({
        replayedAt: row.replayed_at!.toISOString(),
        replayDeliveryId: deliveryId,
      });
    }
    const keptUnder = (deliveryId: string) =>
      waitFor(
        async () => {
          const rows = (await rowsNow()).filter((row) => row.delivery_id === deliveryId);
          return rows.length > 0 ? rows : null;
        },
        { what: `a row kept under ${deliveryId}` },
      );

    it('a malformed item replayed unchanged is kept again, whole, under the new delivery id', async () => {
      const original = (await rowsNow()).find((row) => row.delivery_id === batchId && row.item_index === 1)!;
      const before = Date.now();
      const deliveryId = await replay(original.id);
      const [again] = await keptUnder(deliveryId);
      expect(again.body.toString()).toBe('42');
      expect(again.item_index).toBeNull();
      expect(again.id).not.toBe(original.id);
      expect(await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])).toBe(
        0,
      );
      await expectAudited(original.id, deliveryId, before);
      // The original row stays as it was.
      expect(await rowOf(original.id)).toMatchObject({
        body: Buffer.from('42'),
        item_index: 1,
        delivery_id: batchId,
      });
    });

    it('bytes that are not UTF-8 are kept again with the very same bytes', async () => {
      const original = (await rowsNow()).find((row) => row.delivery_id === notUtf8Id)!;
      const deliveryId = await replay(original.id);
      const [again] = await keptUnder(deliveryId);
      expect(again.body.equals(notUtf8)).toBe(true);
      expect(again.reason).toBe(original.reason);
    });

    it('a kept delivery that the parser accepts now is stored as events under the new delivery id', async () => {
      const before = Date.now();
      const deliveryId = await replay(handIds[2]);
      await waitFor(
        async () =>
          (await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])) === 1,
        { what: 'the replayed delivery stored' },
      );
      const [event] = await db.rows<{ event_id: string; outcome: string }>(
        'SELECT event_id, outcome FROM webhook_events WHERE delivery_id = $1',
        [deliveryId],
      );
      expect(event).toEqual({ event_id: accepted.eventId, outcome: 'applied' });
      expect((await rowsNow()).filter((row) => row.delivery_id === deliveryId)).toEqual([]);
      await expectAudited(handIds[2], deliveryId, before);
      const stored = await json<{ deliveryId: string }>(await admin(`/events/${String(accepted.eventId)}`));
      expect(stored.deliveryId).toBe(deliveryId);
    });

    it('refuses to replay an item again (409 naming when and as what), and changes nothing', async () => {
      const before = await rowOf(handIds[2]);
      const audited = await db.count(`SELECT count(*) FROM admin_audit`);
      const res = await admin(`/quarantine/${handIds[2]}/replay`, 'POST');
      expect(res.status).toBe(409);
      expect((await json<{ message: string }>(res)).message).toContain(before.replay_delivery_id!);
      expect(await rowOf(handIds[2])).toEqual(before);
      expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(audited);
    });

    it('writes one audit row per replay, with the key id, the reason and the new delivery id', async () => {
      const rows = await db.rows<{
        key_id: string;
        action: string;
        target: string;
        reason: string;
        result: unknown;
      }>(`SELECT key_id, action, target, reason, result FROM admin_audit WHERE action = 'quarantine.replay'`);
      const replayed = (await rowsNow()).filter((row) => row.replay_delivery_id !== null);
      expect(rows).toHaveLength(replayed.length);
      for (const row of replayed) {
        expect(rows).toContainEqual({
          key_id: createHash('sha256').update(KEY).digest('hex').slice(0, 8),
          action: 'quarantine.replay',
          target: `quarantine/${row.id}`,
          reason: 'e2e test',
          result: { deliveryId: row.replay_delivery_id },
        });
      }
    });

    it('refuses a replay without a reason (400 naming reason), and changes nothing', async () => {
      const id = (await rowsNow()).find((row) => row.replayed_at === null)!.id;
      const res = await admin(`/quarantine/${id}/replay`, 'POST', '{}');
      expect([res.status, (await json<{ parameter: string }>(res)).parameter]).toEqual([400, 'reason']);
      expect((await rowOf(id)).replayed_at).toBeNull();
    });
  });

  describe('resolve', () => {
    const HAND_REASON = 'test: kept by an older parser';

    it('filters on an exact reason, and on the state', async () => {
      const rows = await rowsNow();
      expect(await allPages({ reason: HAND_REASON }, 2)).toEqual(
        newestFirst(rows.filter((row) => row.reason === HAND_REASON)),
      );
      expect(await allPages({ reason: 'test: kept' }, 50)).toEqual([]);
      expect(await allPages({ state: 'replayed' }, 50)).toEqual(
        newestFirst(rows.filter((row) => row.replayed_at !== null)),
      );
      const res = await admin('/quarantine?state=maybe');
      expect([res.status, (await json<{ parameter: string }>(res)).parameter]).toEqual([400, 'state']);
    });

    it('marks an item resolved with its reason, audited in the same transaction; it is then neither open nor replayable', async () => {
      const id = handIds[0];
      const res = await fetch(`${app.url}/admin/quarantine/${id}/resolve`, {
        method: 'POST',
        body: '{"reason":"the sender was a test rig; nothing to bring back"}',
        headers: { Authorization: `Bearer ${KEY}` },
      });
      expect(res.status).toBe(200);
      const answer = await json<{ id: number; resolvedAt: string }>(res);
      expect(answer.id).toBe(Number(id));
      const detail = await json<Detail>(await admin(`/quarantine/${id}`));
      expect(detail).toMatchObject({
        resolvedAt: answer.resolvedAt,
        resolvedReason: 'the sender was a test rig; nothing to bring back',
        replayedAt: null,
      });
      expect(
        await db.rows(
          `SELECT action, target, reason, result FROM admin_audit WHERE action = 'quarantine.resolve'`,
        ),
      ).toEqual([
        {
          action: 'quarantine.resolve',
          target: `quarantine/${id}`,
          reason: 'the sender was a test rig; nothing to bring back',
          result: answer,
        },
      ]);
      expect(await allPages({ state: 'resolved' }, 50)).toEqual([Number(id)]);
      expect(await allPages({ state: 'open' }, 50)).not.toContain(Number(id));

      const audited = await db.count(`SELECT count(*) FROM admin_audit`);
      for (const action of ['replay', 'resolve']) {
        const again = await admin(`/quarantine/${id}/${action}`, 'POST');
        expect([action, again.status]).toEqual([action, 409]);
        expect((await json<{ message: string }>(again)).message).toContain('already resolved');
      }
      expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(audited);
      expect((await rowsNow()).find((row) => row.id === id)!.replayed_at).toBeNull();
    });

    it('refuses to resolve a replayed item (409), or without a reason (400), and changes nothing', async () => {
      const replayed = (await rowsNow()).find((row) => row.replayed_at !== null)!;
      const res = await admin(`/quarantine/${replayed.id}/resolve`, 'POST');
      expect(res.status).toBe(409);
      expect((await json<{ message: string }>(res)).message).toContain('already replayed');
      const open = handIds[1];
      const bare = await admin(`/quarantine/${open}/resolve`, 'POST', '{}');
      expect([bare.status, (await json<{ parameter: string }>(bare)).parameter]).toEqual([400, 'reason']);
      expect(
        await db.count(`SELECT count(*) FROM quarantined_deliveries WHERE resolved_at IS NOT NULL`),
      ).toBe(1);
    });
  });

  describe('dead letters', () => {
    const count = async () => (await json<{ messages: number }>(await admin('/dead-letters'))).messages;
    const deadLettered = async () =>
      (await app.app.get(StorageMetrics).deadLettered.get()).values.reduce((sum, v) => sum + v.value, 0);
    const move = async (query = '') => {
      const res = await admin(`/dead-letters/replay${query}`, 'POST');
      expect(res.status).toBe(200);
      return (await json<{ moved: number }>(res)).moved;
    };

    it('counts deliveries dead-lettered on purpose, moves them back, and they are stored once the cause is gone', async () => {
      expect(await count()).toBe(0);
      // Test-only failures: these events cannot be stored, and neither can their quarantine row.
      await db.rows(`CREATE FUNCTION refuse_by_test() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
      await db.rows(`CREATE TRIGGER refuse_dl_events BEFORE INSERT ON webhook_events FOR EACH ROW
                     WHEN (NEW.event_id LIKE 'evt-dl-%') EXECUTE FUNCTION refuse_by_test()`);
      await db.rows(`CREATE TRIGGER refuse_quarantine BEFORE INSERT ON quarantined_deliveries
                     FOR EACH ROW EXECUTE FUNCTION refuse_by_test()`);
      const letters = [
        envelope({ eventId: `evt-dl-${randomUUID()}` }),
        envelope({ eventId: `evt-dl-${randomUUID()}` }),
      ];
      let dropped = false;
      const dropTriggers = async () => {
        if (dropped) return;
        dropped = true;
        await db.rows('DROP TRIGGER refuse_dl_events ON webhook_events');
        await db.rows('DROP TRIGGER refuse_quarantine ON quarantined_deliveries');
        await db.rows('DROP FUNCTION refuse_by_test()');
      };
      try {
        const deliveryIds = [];
        for (const letter of letters)
          deliveryIds.push(await deliver(Buffer.from(JSON.stringify(letter)), 200));
        await waitFor(async () => (await count()) === 2, {
          timeoutMs: 30000,
          what: 'two dead letters, counted',
        });
        expect(await probe.messageCount(`${app.env.AMQP_PREFIX}.deliveries.dead-letter`)).toBe(2);
        expect(await deadLettered()).toBe(2);

        // Cause still there: the one moved back is tried again and comes back; nothing is lost.
        expect(await move('?limit=1')).toBe(1);
        expect(await count()).toBe(1);
        await waitFor(async () => (await deadLettered()) === 3 && (await count()) === 2, {
          timeoutMs: 30000,
          what: 'the moved delivery tried and dead-lettered again',
        });

        await dropTriggers();
        expect(await move()).toBe(2);
        await waitFor(
          async () =>
            (await db.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [
              letters.map((letter) => letter.eventId),
            ])) === 2,
          { timeoutMs: 30000, what: 'both deliveries stored' },
        );
        const stored = await db.rows<{ delivery_id: string }>(
          'SELECT delivery_id FROM webhook_events WHERE event_id = ANY($1) ORDER BY delivery_id',
          [letters.map((letter) => letter.eventId)],
        );
        // Stored under the delivery ids the api gave them (their headers travelled with them).
        expect(stored.map((row) => row.delivery_id)).toEqual([...deliveryIds].sort());
        expect(await count()).toBe(0);
        expect(await move()).toBe(0);
      } finally {
        await dropTriggers();
      }
    });
  });
});
