import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { FeedQueue } from './support/feed-queue';
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
    const body = `{"eventId":"${eventId}","name":"message.sent","accountId":9007199254740993,"payload":{"id":"m-${eventId}"},"revision":1}`;
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
    const [first] = JSON.parse(batch.toString()) as { payload: { id: string }; apiSpaceId: string }[];
    await db.rows('DELETE FROM webhook_events WHERE entity_id = $1', [first.payload.id]);
    await db.rows('DELETE FROM entity_revisions WHERE entity_id = $1', [first.payload.id]);
    const deliveryId = await deliver(batch);
    await stored(deliveryId, 4);
    const res = await admin(`/entities/message/${first.payload.id}?apiSpaceId=${first.apiSpaceId}`);
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
    // Without apiSpaceId: the one space it exists in.
    const found = await admin(`/entities/message/${first.payload.id}`);
    expect([found.status, await json(found)]).toEqual([200, story]);
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
      const res = await admin(`/events?${query.toString()}`);
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
    ['since', 'since=2026-02-30T00:00:00Z'],
    ['until', 'until=1700000000'],
    ['limit', 'limit=501'],
    ['limit', 'limit=1.5'],
    ['limit', 'limit=-1'],
    ['name', 'name='],
    ['name', `name=${'n'.repeat(201)}`],
    ['name', 'name=a%00b'],
    ['apiSpaceId', 'apiSpaceId='],
    ['apiSpaceId', 'apiSpaceId=space%00'],
    ['entityType', 'entityType='],
    ['entityId', 'entityId='],
    ['entityId', 'entityId=m%00'],
    ['deliveryId', 'deliveryId='],
    ['deliveryId', `deliveryId=${'d'.repeat(513)}`],
    ['outcome', 'outcome=APPLIED'],
    ['cursor', 'cursor='],
    ['until', 'since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z'],
    ['until', 'since=2026-11-21T00:00:00Z&until=2026-11-21T00:00:00Z'],
  ])('answers 400 naming %s for %s', async (parameter, query) => {
    await expectBadParameter(admin(`/events?${query.toString()}`), parameter);
  });

  async function expectBadParameter(answer: Promise<Response>, parameter: string): Promise<void> {
    const res = await answer;
    const body = await json(res);
    expect([res.status, body]).toEqual([
      400,
      {
        statusCode: 400,
        error: 'Bad Request',
        parameter,
        message: expect.stringMatching(new RegExp(`^${parameter}: .+`)),
      },
    ]);
  }

  describe('400 for each bad parameter of the other routes', () => {
    it.each([
      ['apiSpaceId', '/entities/message/m-1?apiSpaceId=a&apiSpaceId=b'],
      ['apiSpaceId', `/entities/message/m-1?apiSpaceId=${'s'.repeat(513)}`],
      ['apiSpaceId', '/entities/message/m-1?apiSpaceId=a%00'],
      ['since', '/quarantine?since=last-week'],
      ['until', '/quarantine?until=2026-11-20'],
      ['until', '/quarantine?since=2026-11-21T00:00:00Z&until=2026-11-20T23:59:59Z'],
      ['deliveryId', '/quarantine?deliveryId='],
      ['deliveryId', '/quarantine?deliveryId=a%00b'],
      ['limit', '/quarantine?limit=0'],
      ['limit', '/quarantine?limit=501'],
      ['cursor', '/quarantine?cursor=abc.def'],
      ['id', '/quarantine/abc'],
      ['id', '/quarantine/1.5'],
      ['id', '/quarantine/0'],
      ['id', '/quarantine/-1'],
      ['id', '/quarantine/99999999999999999999'],
    ])('GET: answers 400 naming %s for %s', async (parameter, path) => {
      await expectBadParameter(admin(path), parameter);
    });

    it.each([
      ['id', '/quarantine/abc/replay'],
      ['id', '/quarantine/0/replay'],
      ['id', '/quarantine/1e3/replay'],
      ['id', '/quarantine/99999999999999999999/replay'],
      ['limit', '/dead-letters/replay?limit=0'],
      ['limit', '/dead-letters/replay?limit=-2'],
      ['limit', '/dead-letters/replay?limit=all'],
      ['limit', '/dead-letters/replay?limit=1.5'],
    ])('POST: answers 400 naming %s for %s', async (parameter, path) => {
      await expectBadParameter(admin(path, { method: 'POST' }), parameter);
    });

    const since = '2026-11-20T00:00:00Z';
    it.each([
      ['since', 'since missing', JSON.stringify({ until: since })],
      ['since', 'since not a date', JSON.stringify({ since: 'monday', until: since })],
      ['since', 'since a number', JSON.stringify({ since: 1700000000, until: since })],
      ['until', 'until missing', JSON.stringify({ since })],
      ['until', 'until not a date', JSON.stringify({ since, until: '2026-11-31T00:00:00Z' })],
      ['until', 'until equal to since', JSON.stringify({ since, until: since })],
      ['until', 'until before since', JSON.stringify({ since, until: '2026-11-19T23:59:59Z' })],
      ['name', 'name empty', JSON.stringify({ since, until: '2026-11-21T00:00:00Z', name: '' })],
      [
        'apiSpaceId',
        'apiSpaceId not text',
        JSON.stringify({ since, until: '2026-11-21T00:00:00Z', apiSpaceId: 7 }),
      ],
      ['body', 'a body that is not JSON', '{"since": "2026-11-20T00:00:00Z",'],
      ['body', 'a JSON array', '[]'],
      ['since', 'no body at all (read as {})', ''],
      ['reason', 'no reason', JSON.stringify({ since, until: '2026-11-21T00:00:00Z' })],
      [
        'reason',
        'a reason of 2 characters',
        JSON.stringify({ since, until: '2026-11-21T00:00:00Z', reason: ' ok ' }),
      ],
    ])('POST /events/replay: answers 400 naming %s for %s', async (parameter, _, body) => {
      await expectBadParameter(
        admin('/events/replay', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }),
        parameter,
      );
    });
  });

  describe('401 on every route, before the parameters or the body are looked at', () => {
    const routes: [string, string, string?][] = [
      ['GET', '/events?limit=0'],
      ['GET', '/events/some-event'],
      ['GET', '/entities/message/m-1'],
      ['GET', '/quarantine?since=never'],
      ['GET', '/quarantine/abc'],
      ['POST', '/quarantine/0/replay'],
      ['GET', '/dead-letters'],
      ['POST', '/dead-letters/replay?limit=0'],
      ['POST', '/events/replay', '{not json'],
    ];
    it.each(
      routes.flatMap(([method, path, body]) => [
        [method, path, 'without a key', null, body] as const,
        [method, path, 'with a wrong key', 'a-wrong-key-that-is-long-enough-0123456789', body] as const,
      ]),
    )('%s %s %s', async (method, path, _, key, body) => {
      const res = await admin(path, { method, key, body });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.any(String),
      });
    });
  });

  it('answers 404 for an event id or entity no stored row can have (a NUL character)', async () => {
    expect((await admin('/events/evt%00x')).status).toBe(404);
    expect((await admin('/entities/message/m%00x')).status).toBe(404);
  });

  it('refuses the cursor of one list on another (400), and an altered cursor', async () => {
    await db.rows(
      `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
       SELECT now() - n * interval '1 second', 'test: cursor', '{}'::bytea, NULL, 'cursor-test-' || n
         FROM generate_series(1, 3) AS n`,
    );
    const quarantinePage = await json<{ nextCursor: string }>(await admin('/quarantine?limit=1'));
    expect(quarantinePage.nextCursor).toEqual(expect.any(String));
    await expectBadParameter(
      admin(`/events?cursor=${encodeURIComponent(quarantinePage.nextCursor)}`),
      'cursor',
    );
    const eventsPage = await json<{ nextCursor: string }>(await admin('/events?limit=1'));
    expect(eventsPage.nextCursor).toEqual(expect.any(String));
    await expectBadParameter(
      admin(`/quarantine?cursor=${encodeURIComponent(eventsPage.nextCursor)}`),
      'cursor',
    );
    // The same position, re-encoded without the signature of this service.
    const [payload, signature] = eventsPage.nextCursor.split('.');
    const [micros, id] = JSON.parse(Buffer.from(payload, 'base64url').toString()) as [string, string];
    const altered = Buffer.from(JSON.stringify([String(BigInt(micros) + 1n), id])).toString('base64url');
    await expectBadParameter(admin(`/events?cursor=${altered}.${signature}`), 'cursor');
    expect((await admin(`/events?limit=1&cursor=${encodeURIComponent(eventsPage.nextCursor)}`)).status).toBe(
      200,
    );
  });

  it('re-queues the stored events of a range for the feed, marked x-replayed (202 with the count)', async () => {
    const name = `test.replay-${Date.now()}`;
    const events = Array.from({ length: 7 }, () => envelope({ name }));
    const other = envelope({ name: `${name}-other` });
    const since = new Date(Date.now() - 1000).toISOString();
    await stored(await deliver(JSON.stringify([...events, other])), 8);
    const until = new Date(Date.now() + 1000).toISOString();
    const feed = await FeedQueue.bind(app.env.AMQP_PREFIX);
    try {
      const res = await admin('/events/replay', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ since, until, name, reason: 'feed test' }),
      });
      expect(res.status).toBe(202);
      expect(await json(res)).toEqual({ events: 7 });
      const replayed = () => feed.copies.filter((copy) => copy.headers['x-replayed'] === true);
      await waitFor(() => replayed().length >= 7, { what: '7 replayed events on the feed' });
      expect(
        replayed()
          .map((copy) => copy.eventId)
          .sort(),
      ).toEqual(events.map((event) => event.eventId as string).sort());
      for (const copy of replayed()) {
        expect(copy.headers).toMatchObject({
          'x-event-name': name,
          'x-replayed': true,
          'x-outcome': 'applied',
        });
        expect(copy.routingKey).toBe(`applied.${name}`);
        expect(copy.body).toMatchObject({ eventId: copy.eventId, name });
      }
      // Any first-time copy of these events that was still on its way is not marked.
      for (const copy of feed.copies.filter((c) => c.headers['x-replayed'] !== true))
        expect(copy.headers['x-replayed']).toBeUndefined();

      // A range with nothing in it: 202, no events; a space filter that matches none.
      const empty = await admin('/events/replay', {
        method: 'POST',
        body: JSON.stringify({
          since: '2001-01-01T00:00:00Z',
          until: '2001-01-02T00:00:00Z',
          reason: 'feed test',
        }),
      });
      expect([empty.status, await json(empty)]).toEqual([202, { events: 0 }]);
      const otherSpace = await admin('/events/replay', {
        method: 'POST',
        body: JSON.stringify({ since, until, name, apiSpaceId: 'no-such-space', reason: 'feed test' }),
      });
      expect([otherSpace.status, await json(otherSpace)]).toEqual([202, { events: 0 }]);
      const inSpace = await admin('/events/replay', {
        method: 'POST',
        body: JSON.stringify({
          since,
          until,
          name: `${name}-other`,
          apiSpaceId: 'space-e2e',
          reason: 'feed test',
        }),
      });
      expect([inSpace.status, await json(inSpace)]).toEqual([202, { events: 1 }]);
      await waitFor(() => replayed().length === 8, { what: 'the eighth replayed event' });
    } finally {
      await feed.delete();
    }
  });
});
