import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, fixture, postWebhook } from './support/signing';

const KEY = 'admin-key-for-the-e2e-tests-0123456789';
const OTHER_KEY = 'another-admin-key-0123456789abcdefghij';

/** The operations API against the real database and broker (APP_ROLE=all, in this process). */
describe('operations API', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('admin');
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      ADMIN_API_KEYS: `${KEY},${OTHER_KEY}`,
    });
    db = await Db.connect(scratch.url);
    await waitFor(async () => (await db.rows(`SELECT to_regclass('feed_outbox') AS t`))[0].t !== null, {
      timeoutMs: 30000,
      what: 'migrations applied',
    });
  });

  afterAll(async () => {
    await app?.close();
    if (app) {
      const probe = await BrokerProbe.connect();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
      await probe.close();
    }
    await db?.close();
    await scratch?.drop();
  });

  const admin = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const { key = KEY, ...rest } = init;
    const headers: Record<string, string> = { ...(rest.headers as Record<string, string>) };
    if (key !== null) headers.Authorization = `Bearer ${key}`;
    return fetch(`${app.url}/admin${path}`, { ...rest, headers });
  };
  const json = async <T = Record<string, unknown>>(res: Response): Promise<T> => (await res.json()) as T;

  async function deliver(body: string | Buffer): Promise<string> {
    const res = await postWebhook(app.url, body);
    expect(res.status).toBe(200);
    return res.headers.get('x-delivery-id')!;
  }

  const stored = (deliveryId: string, count: number) =>
    waitFor(
      async () =>
        (await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])) ===
        count,
      { what: `${count} events of ${deliveryId} stored` },
    );

  describe('authentication', () => {
    it.each([
      ['no Authorization header', null],
      ['a wrong key', 'not-a-configured-key-0123456789abcdef'],
      ['a key prefix', KEY.slice(0, 20)],
    ])('answers 401 JSON for %s, before looking at the parameters', async (_, key) => {
      const res = await admin('/events?limit=0', { key });
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ statusCode: 401, message: expect.any(String) });
    });

    it('accepts every configured key, and not "Basic"', async () => {
      expect((await admin('/events', { key: OTHER_KEY })).status).toBe(200);
      expect((await admin('/events', { key: null, headers: { Authorization: `Basic ${KEY}` } })).status).toBe(
        401,
      );
    });
  });

  it('finds an event by id, with its payload exactly as stored, and 404 for an unknown one', async () => {
    const eventId = `evt-admin-exact-${Date.now()}`;
    const body = `{"eventId":"${eventId}","name":"message.sent","accountId":9007199254740993,"payload":{"messageId":"m-${eventId}"},"revision":1}`;
    const deliveryId = await deliver(body);
    await stored(deliveryId, 1);
    const res = await admin(`/events/${eventId}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    // Every digit, in the column (as text: beyond 2^53) and in the payload (jsonb's spacing).
    expect(text).toMatch(/"payload":\{.*"accountId": ?9007199254740993[,}]/);
    expect(JSON.parse(text)).toMatchObject({
      accountId: '9007199254740993',
      eventId,
      name: 'message.sent',
      entityType: 'message',
      entityId: `m-${eventId}`,
      revision: 1,
      outcome: 'applied',
      deliveryId,
      payload: { eventId, name: 'message.sent' },
    });
    expect((await admin('/events/no-such-event')).status).toBe(404);
  });

  it("tells the out-of-order batch's message story: state at revision 3, four events in revision order", async () => {
    const batch = fixture('batch.out-of-order.json');
    const [first] = JSON.parse(batch.toString()) as { payload: { messageId: string }; apiSpaceId: string }[];
    await db.rows('DELETE FROM webhook_events WHERE entity_id = $1', [first.payload.messageId]);
    await db.rows('DELETE FROM entity_revisions WHERE entity_id = $1', [first.payload.messageId]);
    const deliveryId = await deliver(batch);
    await stored(deliveryId, 4);
    const res = await admin(`/entities/message/${first.payload.messageId}?apiSpaceId=${first.apiSpaceId}`);
    expect(res.status).toBe(200);
    const story = await json<{
      state: { revision: number; eventName: string };
      events: { name: string; revision: number }[];
    }>(res);
    expect(story.state).toMatchObject({ revision: 3, eventName: 'message.read' });
    expect(story.events.map((event) => [event.revision, event.name])).toEqual([
      [0, 'interaction.click'],
      [1, 'message.sent'],
      [2, 'message.delivered'],
      [3, 'message.read'],
    ]);
    expect((await admin(`/entities/message/${first.payload.messageId}`)).status).toBe(404);
    expect((await admin('/entities/message/no-such-message')).status).toBe(404);
  });

  it('pages through a filter newest first with no row lost or repeated while new events arrive', async () => {
    const name = `test.paging-${Date.now()}`;
    const first = Array.from({ length: 25 }, () => envelope({ name }));
    await stored(await deliver(JSON.stringify(first)), 25);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ name, limit: '10', ...(cursor ? { cursor } : {}) });
      const res = await admin(`/events?${query}`);
      expect(res.status).toBe(200);
      const page = await json<{ items: { eventId: string }[]; nextCursor: string | null }>(res);
      seen.push(...page.items.map((item) => item.eventId));
      cursor = page.nextCursor;
      // Newer events arrive between pages: they are newer than the cursor, so never in later pages.
      if (pages++ === 0)
        await stored(await deliver(JSON.stringify([envelope({ name }), envelope({ name })])), 2);
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(first.map((event) => event.eventId as string).sort());
  });

  it.each([
    ['since', 'since=yesterday'],
    ['until', 'until=2026-13-01T00:00:00Z'],
    ['limit', 'limit=0'],
    ['limit', 'limit=10000'],
    ['limit', 'limit=ten'],
    ['outcome', 'outcome=maybe'],
    ['cursor', 'cursor=eyJhIjoxfQ.forged'],
    ['name', 'name=a&name=b'],
  ])('answers 400 naming %s for %s', async (parameter, query) => {
    const res = await admin(`/events?${query}`);
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({
      statusCode: 400,
      parameter,
      message: expect.stringContaining(parameter),
    });
  });
});
