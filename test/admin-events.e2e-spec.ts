import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { DirectPublisher } from './support/direct-publish';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';

const KEY = 'admin-key-of-the-event-filter-tests-0123456789';

interface Item {
  eventId: string;
  name: string;
  apiSpaceId: string | null;
  accountId: number | string | null;
  entityType: string;
  entityId: string | null;
  revision: number | string | null;
  etag: string | null;
  outcome: string;
  eventTimestamp: string | null;
  receivedAt: string;
  deliveryId: string;
  payload: Record<string, unknown>;
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}
interface Row {
  event_id: string;
  name: string;
  api_space_id: string | null;
  entity_type: string;
  entity_id: string | null;
  outcome: string;
  delivery_id: string;
  received_at: Date;
  revision: string | null;
}

/**
 * GET /admin/events against a known set of events in a database of this spec's own: every filter
 * alone and in combination returns exactly the matching events, newest first (received_at, then
 * eventId), across pages that split deliveries sharing one received_at. The events are published
 * straight to the queue with chosen received_at times, so the bounds are exact to the millisecond.
 */
describe('operations API: finding events', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let rows: Row[];
  /** received_at of each delivery, by its index. */
  const times: Date[] = [];
  const deliveryIds: string[] = [];
  const tag = `f${Date.now().toString(36)}`;
  const msg = (n: number) => `${tag}-m${n}`;
  let seq = 0;

  const event = (
    name: string,
    entityId: string | null,
    revision: number | null,
    space: string | null = 'space-a',
  ): Record<string, unknown> => {
    seq += 1;
    return {
      eventId: `evt-${tag}-${String(seq).padStart(3, '0')}`,
      accountId: 40213,
      ...(space === null ? {} : { apiSpaceId: space }),
      name,
      payload: entityId === null ? { note: 'no entity' } : { id: entityId },
      ...(revision === null ? {} : { revision }),
      etag: `"${seq}"`,
      timestamp: '2026-11-20T09:00:00Z',
    };
  };

  /** Ten deliveries, one minute apart; several hold six events that share their received_at. */
  const deliveries = (): Record<string, unknown>[][] => [
    [
      event('message.sent', msg(1), 1),
      event('message.sent', msg(2), 1),
      event('message.sent', msg(3), 1),
      { ...event('profile.update', null, 1), payload: { id: `${tag}-p1@example.com` } },
    ],
    [
      event('message.delivered', msg(1), 2),
      event('message.sent', msg(4), 1, 'space-b'),
      event('message.sent', msg(5), 1, null),
    ],
    [
      event('message.read', msg(1), 3),
      event('message.delivered', msg(2), 2),
      event('interaction.click', msg(1), null),
    ],
    [event('message.sent', msg(2), 1), event('message.delivered', msg(3), 2)],
    [
      event('message.delivered', msg(4), 2, 'space-b'),
      event('message.delivered', msg(5), 2, null),
      event('chat.typing', null, null),
    ],
    [
      event('message.delivered', msg(1), 2),
      { ...event('profile.update', null, 2), payload: { id: `${tag}-p1@example.com` } },
      event('message.read', msg(3), 3),
    ],
    Array.from({ length: 6 }, (_, i) => event('message.sent', msg(10 + i), 1, 'space-b')),
    Array.from({ length: 6 }, (_, i) => event('message.delivered', msg(10 + i), 2, 'space-b')),
    Array.from({ length: 6 }, (_, i) => event('interaction.click', msg(10 + i), null, 'space-b')),
    [event('message.read', msg(10), 3, 'space-b'), event('message.sent', msg(10), 1, 'space-b')],
  ];

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('admin_events');
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, ADMIN_API_KEYS: KEY });
    db = await Db.connect(scratch.url);
    const base = Date.now() - 3_600_000;
    const batches = deliveries();
    const publisher = await DirectPublisher.connect(app.env.AMQP_PREFIX);
    try {
      // One at a time, in order, so the outcomes (applied/stale) follow the order written above.
      for (const [i, batch] of batches.entries()) {
        times[i] = new Date(base + i * 60_000);
        const [id] = await publisher.publish([
          { body: Buffer.from(JSON.stringify(batch)), receivedAt: times[i], itemCount: batch.length },
        ]);
        deliveryIds[i] = id;
        await waitFor(
          async () =>
            (await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [id])) ===
            batch.length,
          { timeoutMs: 30000, what: `delivery ${i} stored` },
        );
      }
    } finally {
      await publisher.close();
    }
    rows = await db.rows<Row>(
      `SELECT event_id, name, api_space_id, entity_type, entity_id, outcome, delivery_id, received_at,
              revision::text AS revision
         FROM webhook_events`,
    );
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

  const get = async (path: string): Promise<Response> =>
    fetch(`${app.url}/admin${path}`, { headers: { Authorization: `Bearer ${KEY}` } });

  /** Every page of a query, in order; fails on a repeated event. */
  async function allPages(
    params: Record<string, string>,
    limit = 500,
  ): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ ...params, limit: String(limit), ...(cursor ? { cursor } : {}) });
      const res = await get(`/events?${query.toString()}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page;
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((item) => item.eventId));
      cursor = page.nextCursor;
      pages += 1;
      expect(pages).toBeLessThan(100);
    } while (cursor);
    expect(new Set(ids).size).toBe(ids.length);
    return { ids, pages };
  }

  /** The expected answer, computed here: the matching rows, newest first, then by eventId descending. */
  const expected = (match: (row: Row) => boolean): string[] =>
    rows
      .filter(match)
      .sort(
        (a, b) =>
          b.received_at.getTime() - a.received_at.getTime() ||
          (a.event_id < b.event_id ? 1 : a.event_id > b.event_id ? -1 : 0),
      )
      .map((row) => row.event_id);

  it('stored the data set as designed: 38 events and the three outcomes', () => {
    expect(rows).toHaveLength(38);
    const outcomes = (o: string) => rows.filter((row) => row.outcome === o).length;
    // Two late sent/delivered repeats are stale; clicks, chat.typing and profiles without ids untracked.
    expect([outcomes('applied'), outcomes('stale'), outcomes('untracked')]).toEqual([27, 3, 8]);
  });

  it('lists everything newest first, with every field of each event', async () => {
    const res = await get('/events?limit=500');
    expect(res.status).toBe(200);
    const page = (await res.json()) as Page;
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((item) => item.eventId)).toEqual(expected(() => true));
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    for (const item of page.items) {
      const row = byId.get(item.eventId)!;
      expect(item).toEqual({
        eventId: row.event_id,
        name: row.name,
        apiSpaceId: row.api_space_id,
        accountId: 40213,
        entityType: row.entity_type,
        entityId: row.entity_id,
        revision: row.revision === null ? null : Number(row.revision),
        etag: expect.stringMatching(/^"\d+"$/),
        outcome: row.outcome,
        eventTimestamp: '2026-11-20T09:00:00.000Z',
        receivedAt: row.received_at.toISOString(),
        deliveryId: row.delivery_id,
        payload: expect.objectContaining({ eventId: row.event_id, name: row.name }),
      });
    }
  });

  it('defaults to 50 a page and pages through everything four at a time, splitting tied deliveries', async () => {
    const first = (await (await get('/events')).json()) as Page;
    expect(first.items).toHaveLength(38);
    const { ids, pages } = await allPages({}, 4);
    expect(pages).toBe(10);
    expect(ids).toEqual(expected(() => true));
  });

  it.each<[string, Record<string, string>, (row: Row) => boolean]>([
    ['name', { name: 'message.delivered' }, (row) => row.name === 'message.delivered'],
    ['apiSpaceId', { apiSpaceId: 'space-b' }, (row) => row.api_space_id === 'space-b'],
    ['entityType', { entityType: 'interaction' }, (row) => row.entity_type === 'interaction'],
    ['entityType (profile)', { entityType: 'profile' }, (row) => row.entity_type === 'profile'],
    [
      'entityId (its own events and the clicks on it)',
      { entityId: msg(1) },
      (row) => row.entity_id === msg(1),
    ],
    ['outcome applied', { outcome: 'applied' }, (row) => row.outcome === 'applied'],
    ['outcome stale', { outcome: 'stale' }, (row) => row.outcome === 'stale'],
    ['outcome untracked', { outcome: 'untracked' }, (row) => row.outcome === 'untracked'],
    ['deliveryId', { deliveryId: '<2>' }, (row) => row.delivery_id === deliveryIds[2]],
  ])(
    'filters on %s alone, exactly, newest first (one page and three at a time)',
    async (_, params, match) => {
      const query = Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, v === '<2>' ? deliveryIds[2] : v]),
      );
      const want = expected(match);
      expect(want.length).toBeGreaterThan(1);
      expect(want.length).toBeLessThan(rows.length);
      expect((await allPages(query)).ids).toEqual(want);
      expect((await allPages(query, 3)).ids).toEqual(want);
    },
  );

  it('reads since as inclusive and until as exclusive, to the millisecond', async () => {
    const at = (i: number, deltaMs = 0) => new Date(times[i].getTime() + deltaMs).toISOString();
    const from =
      (i: number, deltaMs = 0) =>
      (row: Row) =>
        row.received_at.getTime() >= times[i].getTime() + deltaMs;
    const before =
      (i: number, deltaMs = 0) =>
      (row: Row) =>
        row.received_at.getTime() < times[i].getTime() + deltaMs;

    const since3 = (await allPages({ since: at(3) })).ids;
    expect(since3).toEqual(expected(from(3)));
    expect(since3).toEqual(
      expect.arrayContaining(rows.filter((r) => r.delivery_id === deliveryIds[3]).map((r) => r.event_id)),
    );
    const afterIt = (await allPages({ since: at(3, 1) })).ids;
    expect(afterIt).toEqual(expected(from(4)));

    const until6 = (await allPages({ until: at(6) })).ids;
    expect(until6).toEqual(expected(before(6)));
    expect(until6.some((id) => rows.find((r) => r.event_id === id)!.delivery_id === deliveryIds[6])).toBe(
      false,
    );
    expect((await allPages({ until: at(6, 1) })).ids).toEqual(expected(before(6, 1)));
    expect((await allPages({ until: at(6, 1) })).ids).toHaveLength(until6.length + 6);

    const window = (await allPages({ since: at(2), until: at(5) }, 2)).ids;
    expect(window).toEqual(expected((row) => from(2)(row) && before(5)(row)));
    // The same instant with an offset.
    const offset = new Date(times[3].getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    expect((await allPages({ since: offset })).ids).toEqual(since3);
    expect((await allPages({ since: at(9, 1) })).ids).toEqual([]);
  });

  it('combines filters (AND), and pages the combination', async () => {
    const params = {
      name: 'message.sent',
      apiSpaceId: 'space-b',
      outcome: 'applied',
      since: times[1].toISOString(),
      until: times[9].toISOString(),
    };
    const want = expected(
      (row) =>
        row.name === 'message.sent' &&
        row.api_space_id === 'space-b' &&
        row.outcome === 'applied' &&
        row.received_at >= times[1] &&
        row.received_at < times[9],
    );
    expect(want).toHaveLength(7);
    expect((await allPages(params, 2)).ids).toEqual(want);
    expect((await allPages({ entityType: 'message', entityId: msg(2), outcome: 'stale' })).ids).toEqual(
      expected((row) => row.entity_id === msg(2) && row.outcome === 'stale'),
    );
    expect((await allPages({ name: 'message.read', deliveryId: deliveryIds[0] })).ids).toEqual([]);
  });

  it('returns an empty page (no cursor) for a filter nothing matches', async () => {
    const res = await get('/events?name=no.such.event');
    expect(await res.json()).toEqual({ items: [], nextCursor: null });
  });

  it("tells a message's story in its space: state, then its events by revision (no revision last), then received_at", async () => {
    const res = await get(`/entities/message/${msg(1)}?apiSpaceId=space-a`);
    expect(res.status).toBe(200);
    const story = (await res.json()) as {
      state: Record<string, unknown>;
      events: Item[];
    };
    const readEvent = rows.find((row) => row.entity_id === msg(1) && row.name === 'message.read')!;
    expect(story.state).toEqual({
      revision: 3,
      eventId: readEvent.event_id,
      eventName: 'message.read',
      eventTimestamp: '2026-11-20T09:00:00.000Z',
      updatedAt: expect.any(String),
    });
    expect(story.events.map((e) => [e.name, e.revision, e.outcome, e.deliveryId])).toEqual([
      ['message.sent', 1, 'applied', deliveryIds[0]],
      ['message.delivered', 2, 'applied', deliveryIds[1]],
      ['message.delivered', 2, 'stale', deliveryIds[5]],
      ['message.read', 3, 'applied', deliveryIds[2]],
      ['interaction.click', null, 'untracked', deliveryIds[2]],
    ]);
  });

  it('reads a missing apiSpaceId as the empty space, and a story in another space is 404', async () => {
    const res = await get(`/entities/message/${msg(5)}`);
    expect(res.status).toBe(200);
    const story = (await res.json()) as { state: { revision: number }; events: Item[] };
    expect(story.state.revision).toBe(2);
    expect(story.events.map((e) => [e.name, e.apiSpaceId])).toEqual([
      ['message.sent', null],
      ['message.delivered', null],
    ]);
    expect((await get(`/entities/message/${msg(5)}?apiSpaceId=space-a`)).status).toBe(404);
    expect((await get(`/entities/message/${msg(1)}?apiSpaceId=space-b`)).status).toBe(404);
  });

  it('finds the one space of an entity asked for without apiSpaceId', async () => {
    const res = await get(`/entities/message/${msg(4)}`);
    expect(res.status).toBe(200);
    const story = (await res.json()) as { state: { revision: number }; events: Item[] };
    expect(story.state.revision).toBe(2);
    expect(story.events.map((e) => [e.name, e.apiSpaceId])).toEqual([
      ['message.sent', 'space-b'],
      ['message.delivered', 'space-b'],
    ]);
    expect((await get('/entities/message/no-such-message')).status).toBe(404);
  });

  it('answers 409 naming every space of an entity in several (a state alone counts: retention keeps it)', async () => {
    // msg(1) has events in space-a; a state in space-c whose events retention deleted.
    await db.rows(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name, updated_at)
       VALUES ('space-c', 'message', $1, 7, 'evt-gone', 'message.read', now())`,
      [msg(1)],
    );
    try {
      const res = await get(`/entities/message/${msg(1)}`);
      expect([res.status, await res.json()]).toEqual([
        409,
        {
          statusCode: 409,
          error: 'Conflict',
          message: `message/${msg(1)} exists in 2 API spaces: pass apiSpaceId`,
          apiSpaceIds: ['space-a', 'space-c'],
        },
      ]);
      const [inA, inC] = await Promise.all(
        ['space-a', 'space-c'].map(async (space) =>
          (await get(`/entities/message/${msg(1)}?apiSpaceId=${space}`)).json(),
        ),
      );
      expect((inA as { state: { revision: number } }).state.revision).toBe(3);
      expect(inC).toEqual({
        state: expect.objectContaining({ revision: 7, eventId: 'evt-gone' }),
        events: [],
      });
    } finally {
      await db.rows(`DELETE FROM entity_revisions WHERE api_space_id = 'space-c'`);
    }
  });

  it('tells the story of an entity that has events but no state (only untracked clicks)', async () => {
    await db.rows('DELETE FROM entity_revisions WHERE entity_id = $1', [msg(15)]);
    const res = await get(`/entities/message/${msg(15)}?apiSpaceId=space-b`);
    expect(res.status).toBe(200);
    const story = (await res.json()) as { state: unknown; events: Item[] };
    expect(story.state).toBeNull();
    expect(story.events.map((e) => e.name)).toEqual([
      'message.sent',
      'message.delivered',
      'interaction.click',
    ]);
  });
});
