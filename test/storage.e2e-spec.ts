import { DatabaseService } from '../src/database/database.service';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { keyFingerprint } from '../src/signature/secret-ring';
import { SINGLE_FIXTURES, envelope, fixture, postWebhook } from './support/signing';
import { TEST_SECRET } from './support/env';

interface EventRow {
  event_id: string;
  name: string;
  account_id: string | null;
  api_space_id: string | null;
  entity_type: string;
  entity_id: string | null;
  revision: string | null;
  etag: string | null;
  event_timestamp: Date | null;
  outcome: string;
  payload: Record<string, unknown>;
  received_at: Date;
  delivery_id: string;
}

interface RevisionRow {
  api_space_id: string;
  entity_type: string;
  entity_id: string;
  revision: string;
  event_id: string;
  event_name: string;
  event_timestamp: Date | null;
}

describe('storage of events (APP_ROLE=all)', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('storage');
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url });
    await app.app.get(DatabaseService).ready;
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, { what: 'ready' });
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await app?.close();
    if (app) await probe?.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    await db?.close();
    await scratch?.drop();
  });

  beforeEach(async () => {
    await db.rows('TRUNCATE webhook_events, entity_revisions, quarantined_deliveries, webhook_deliveries');
  });

  const eventRows = (ids: string[]) =>
    db.rows<EventRow>('SELECT * FROM webhook_events WHERE event_id = ANY($1) ORDER BY event_id', [ids]);

  const waitForEvents = (ids: string[]) =>
    waitFor(
      async () => {
        const rows = await eventRows(ids);
        return rows.length === ids.length ? rows : null;
      },
      { what: `${ids.length} stored events` },
    );

  /** POSTs signed bytes, expects 200, and returns the api's delivery id and the request's time window. */
  async function deliver(body: Buffer | string, accepted: number) {
    const before = Date.now();
    const res = await postWebhook(app.url, body);
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted, quarantined: 0 });
    const deliveryId = res.headers.get('x-delivery-id');
    expect(deliveryId).toMatch(/^[0-9a-f-]{36}$/);
    return { deliveryId: deliveryId!, before, after };
  }

  it('stores every fixture once, with every column taken from its envelope and delivery', async () => {
    for (const name of SINGLE_FIXTURES) {
      const bytes = fixture(name);
      const sent = JSON.parse(bytes.toString('utf8'));
      const { deliveryId, before, after } = await deliver(bytes, 1);
      const [row] = await waitForEvents([sent.eventId]);

      const entityType = sent.name.split('.')[0];
      expect(row).toEqual({
        event_id: sent.eventId,
        name: sent.name,
        account_id: String(sent.accountId),
        api_space_id: sent.apiSpaceId,
        entity_type: entityType,
        entity_id: sent.payload.messageId ?? sent.payload.id,
        revision: String(sent.revision),
        etag: sent.etag,
        event_timestamp: new Date(sent.timestamp),
        outcome: 'applied',
        payload: sent,
        received_at: expect.any(Date),
        delivery_id: deliveryId,
        stored_at: expect.any(Date),
        // Untraced (no OTEL_EXPORTER_OTLP_ENDPOINT): nothing but a NULL.
        traceparent: null,
      });
      expect(row.received_at.getTime()).toBeGreaterThanOrEqual(before);
      expect(row.received_at.getTime()).toBeLessThanOrEqual(after);
    }

    const ids = SINGLE_FIXTURES.map((name) => JSON.parse(fixture(name).toString('utf8')).eventId);
    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(SINGLE_FIXTURES.length);
    expect(
      await db.count('SELECT count(DISTINCT event_id) FROM webhook_events WHERE event_id = ANY($1)', [ids]),
    ).toBe(SINGLE_FIXTURES.length);

    const revisions = await db.rows<RevisionRow>(
      `SELECT api_space_id, entity_type, entity_id, revision, event_id, event_name, event_timestamp
         FROM entity_revisions ORDER BY entity_type, entity_id`,
    );
    const space = '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10';
    const latest = (entityType: string, entityId: string, file: string) => {
      const sent = JSON.parse(fixture(file).toString('utf8'));
      return {
        api_space_id: space,
        entity_type: entityType,
        entity_id: entityId,
        revision: String(sent.revision),
        event_id: sent.eventId,
        event_name: sent.name,
        event_timestamp: new Date(sent.timestamp),
      };
    };
    expect(revisions).toEqual([
      latest('interaction', '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8', 'interaction.click.json'),
      latest('message', '0a0b0c0d-1e1f-4a2b-8c3d-4e5f60718293', 'message.inbound.json'),
      latest('message', '77aa88bb-99cc-4ddd-8eee-ff0011223344', 'undocumented-messageId.delivered.json'),
      latest('message', '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8', 'message.read.json'),
      latest('message', 'c0ffee00-1111-4222-8333-944455566677', 'message.failed.json'),
      latest('message', 'dead0000-aaaa-4bbb-8ccc-ddddeeeeffff', 'message.expired.json'),
      latest('profile', 'jane.doe@example.com', 'profile.update.json'),
    ]);
  });

  it('takes the entity of a message event from the undocumented payload.messageId and of a profile event from its e-mail id', async () => {
    await deliver(fixture('undocumented-messageId.delivered.json'), 1);
    await deliver(fixture('profile.update.json'), 1);
    const rows = await waitForEvents([
      '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e09',
      '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e08',
    ]);
    expect(
      rows.map(({ event_id, entity_type, entity_id, outcome }) => ({
        event_id,
        entity_type,
        entity_id,
        outcome,
      })),
    ).toEqual([
      {
        event_id: '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e08',
        entity_type: 'profile',
        entity_id: 'jane.doe@example.com',
        outcome: 'applied',
      },
      {
        event_id: '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e09',
        entity_type: 'message',
        entity_id: '77aa88bb-99cc-4ddd-8eee-ff0011223344',
        outcome: 'applied',
      },
    ]);
    expect(
      await db.rows('SELECT entity_type, entity_id, revision FROM entity_revisions ORDER BY entity_type'),
    ).toEqual([
      { entity_type: 'message', entity_id: '77aa88bb-99cc-4ddd-8eee-ff0011223344', revision: '2' },
      { entity_type: 'profile', entity_id: 'jane.doe@example.com', revision: '1' },
    ]);
  });

  it('stores an event without an entity id, or without an integer revision, as untracked and orders nothing', async () => {
    const noEntity = envelope({ name: 'message.sent', payload: { text: 'no id here' }, revision: 4 });
    const noPayload = envelope({ name: 'chat.typing', payload: undefined, revision: 1 });
    const fractional = envelope({ revision: 2.5 });
    const textual = envelope({ revision: '3' });
    const missing = envelope({ revision: undefined });
    const all = [noEntity, noPayload, fractional, textual, missing];
    await deliver(JSON.stringify(all), all.length);

    const rows = await waitForEvents(all.map((e) => e.eventId as string));
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    for (const sent of all) expect(byId.get(sent.eventId as string)?.outcome).toBe('untracked');
    expect(byId.get(noEntity.eventId as string)).toMatchObject({ entity_id: null, revision: '4' });
    expect(byId.get(noPayload.eventId as string)).toMatchObject({ entity_id: null, entity_type: 'chat' });
    expect(byId.get(fractional.eventId as string)).toMatchObject({ revision: null, payload: fractional });
    expect(byId.get(textual.eventId as string)).toMatchObject({ revision: null, payload: textual });
    expect(byId.get(missing.eventId as string)?.revision).toBeNull();
    expect(await db.count('SELECT count(*) FROM entity_revisions')).toBe(0);
  });

  it('stores an event with an unknown name as a normal event', async () => {
    const unknown = envelope({
      name: 'hologram.projected',
      revision: 7,
      payload: { id: 'holo-1', beam: 3 },
    });
    const noDot = envelope({ name: 'heartbeat', payload: { id: 'hb-1' }, revision: 1 });
    await deliver(JSON.stringify([unknown, noDot]), 2);
    const rows = await waitForEvents([unknown.eventId as string, noDot.eventId as string]);
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    expect(byId.get(unknown.eventId as string)).toMatchObject({
      name: 'hologram.projected',
      entity_type: 'hologram',
      entity_id: 'holo-1',
      revision: '7',
      outcome: 'applied',
      payload: unknown,
    });
    expect(byId.get(noDot.eventId as string)).toMatchObject({
      entity_type: 'heartbeat',
      entity_id: 'hb-1',
      outcome: 'applied',
    });
    expect(
      await db.rows(
        'SELECT entity_type, entity_id, revision, event_id FROM entity_revisions ORDER BY entity_type',
      ),
    ).toEqual([
      { entity_type: 'heartbeat', entity_id: 'hb-1', revision: '1', event_id: noDot.eventId },
      { entity_type: 'hologram', entity_id: 'holo-1', revision: '7', event_id: unknown.eventId },
    ]);
  });

  it('leaves the message at revision 3 (message.read) after the out-of-order batch, with 4 rows', async () => {
    const bytes = fixture('batch.out-of-order.json');
    const batch = JSON.parse(bytes.toString('utf8')) as { eventId: string }[];
    const { deliveryId } = await deliver(bytes, 4);
    const ids = batch.map((e) => e.eventId);
    const rows = await waitForEvents(ids);

    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(4);
    expect(Object.fromEntries(rows.map((row) => [row.name, row.outcome]))).toEqual({
      'message.read': 'applied',
      'message.sent': 'stale',
      'message.delivered': 'stale',
      'interaction.click': 'applied',
    });
    for (const row of rows) {
      expect(row.delivery_id).toBe(deliveryId);
      expect(row.payload).toEqual(batch.find((e) => e.eventId === row.event_id));
    }
    expect(
      await db.rows(
        `SELECT revision, event_id, event_name FROM entity_revisions
          WHERE entity_type = 'message' AND entity_id = '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8'`,
      ),
    ).toEqual([
      { revision: '3', event_id: '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e03', event_name: 'message.read' },
    ]);
  });

  it('stores the events of a delivery POSTed three times once each', async () => {
    const key = `msg-repeat-${Date.now()}`;
    const batch = [1, 2, 3].map((revision) => envelope({ revision, payload: { id: key } }));
    const body = JSON.stringify(batch);
    const before = await eventCounts(app.app);
    const first = await deliver(body, 3);
    const second = await deliver(body, 3);
    const third = await deliver(body, 3);

    // Proof the repeats were consumed (not still queued): 6 events counted as repeats.
    await waitFor(async () => (await eventCounts(app.app)).duplicate - before.duplicate === 6, {
      what: 'the two repeats consumed',
    });
    const rows = await waitForEvents(batch.map((e) => e.eventId as string));
    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(3);
    expect(new Set(rows.map((row) => row.delivery_id))).toEqual(new Set([first.deliveryId]));
    expect(rows.map((row) => row.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(await db.rows('SELECT entity_id, revision, event_id FROM entity_revisions')).toEqual([
      { entity_id: key, revision: '3', event_id: batch[2].eventId },
    ]);
    expect(await probe.messageCount(topologyFor(app.env.AMQP_PREFIX).queue)).toBe(0);
    // Every delivery is recorded, also the two that held only repeats, with who signed them.
    const records = await db.rows(
      `SELECT delivery_id, events, repeats, quarantined, repeat_event_ids, key_id, api_space_id
         FROM webhook_deliveries ORDER BY received_at`,
    );
    const ids = batch.map((e) => e.eventId as string);
    const signedBy = { key_id: keyFingerprint(TEST_SECRET), api_space_id: null };
    expect(records).toEqual([
      {
        delivery_id: first.deliveryId,
        events: 3,
        repeats: 0,
        quarantined: 0,
        repeat_event_ids: null,
        ...signedBy,
      },
      {
        delivery_id: second.deliveryId,
        events: 0,
        repeats: 3,
        quarantined: 0,
        repeat_event_ids: ids,
        ...signedBy,
      },
      {
        delivery_id: third.deliveryId,
        events: 0,
        repeats: 3,
        quarantined: 0,
        repeat_event_ids: ids,
        ...signedBy,
      },
    ]);
  });

  it('marks an older revision that arrives later stale and keeps the entity at the newer one', async () => {
    const key = `msg-late-${Date.now()}`;
    const newer = envelope({ name: 'message.read', revision: 3, payload: { id: key } });
    const older = envelope({ name: 'message.delivered', revision: 2, payload: { id: key } });
    await deliver(JSON.stringify(newer), 1);
    await waitForEvents([newer.eventId as string]);
    await deliver(JSON.stringify(older), 1);
    await waitForEvents([older.eventId as string]);

    const rows = await eventRows([newer.eventId as string, older.eventId as string]);
    expect(Object.fromEntries(rows.map((row) => [row.event_id, row.outcome]))).toEqual({
      [newer.eventId as string]: 'applied',
      [older.eventId as string]: 'stale',
    });
    expect(await db.rows('SELECT entity_id, revision, event_id, event_name FROM entity_revisions')).toEqual([
      { entity_id: key, revision: '3', event_id: newer.eventId, event_name: 'message.read' },
    ]);
  });

  it('keeps the first of two events with the same revision as the state', async () => {
    const key = `msg-tie-${Date.now()}`;
    const first = envelope({ name: 'message.delivered', revision: 2, payload: { id: key } });
    const second = envelope({ name: 'message.failed', revision: 2, payload: { id: key } });
    await deliver(JSON.stringify(first), 1);
    await waitForEvents([first.eventId as string]);
    await deliver(JSON.stringify(second), 1);
    await waitForEvents([second.eventId as string]);

    const rows = await eventRows([first.eventId as string, second.eventId as string]);
    expect(Object.fromEntries(rows.map((row) => [row.event_id, row.outcome]))).toEqual({
      [first.eventId as string]: 'applied',
      [second.eventId as string]: 'stale',
    });
    expect(await db.rows('SELECT revision, event_id FROM entity_revisions')).toEqual([
      { revision: '2', event_id: first.eventId },
    ]);
  });

  it('keeps every digit the sender wrote: payload as sent, integers beyond 2^53 exact in their columns', async () => {
    const eventId = `evt-exact-${Date.now()}`;
    const big = '9'.repeat(400);
    // Hand-written JSON: JavaScript numbers could not even hold these values.
    const body =
      `{"eventId":"${eventId}","name":"message.sent","accountId":9007199254740993,` +
      `"payload":{"id":"m-exact-${eventId}","huge":${big},"fraction":0.1000000000000000055511151231257827},` +
      `"revision":9223372036854775807,"timestamp":"2026-11-20T09:26:14.123456Z"}`;
    await deliver(body, 1);
    const [row] = await waitForEvents([eventId]);
    expect(row.account_id).toBe('9007199254740993');
    expect(row.revision).toBe('9223372036854775807');
    const [text] = await db.rows<{ huge: string; fraction: string; micros: string; account: string }>(
      `SELECT payload->'payload'->>'huge' AS huge, payload->'payload'->>'fraction' AS fraction,
              payload->>'accountId' AS account, to_char(event_timestamp AT TIME ZONE 'UTC', 'US') AS micros
         FROM webhook_events WHERE event_id = $1`,
      [eventId],
    );
    expect(text).toEqual({
      huge: big,
      fraction: '0.1000000000000000055511151231257827',
      account: '9007199254740993',
      micros: '123456',
    });
    expect(
      await db.rows('SELECT revision FROM entity_revisions WHERE entity_id = $1', [`m-exact-${eventId}`]),
    ).toEqual([{ revision: '9223372036854775807' }]);
  });

  it('reads timestamps strictly: "1", a bare date or an impossible one is no time at all, never a guess', async () => {
    const cases = ['1', '2026-11-20', '2026-02-30T00:00:00Z', 'yesterday'].map((timestamp) =>
      envelope({ timestamp }),
    );
    await deliver(JSON.stringify(cases), cases.length);
    const rows = await waitForEvents(cases.map((item) => item.eventId as string));
    expect(rows.map((row) => row.event_timestamp)).toEqual([null, null, null, null]);
  });

  it('stores an eventId repeated with other content once, counting the conflict', async () => {
    const first = envelope({ name: 'message.sent' });
    const other = { ...first, name: 'message.read', payload: { id: 'other' } };
    const before = await conflictCount();
    await deliver(JSON.stringify(first), 1);
    await waitForEvents([first.eventId as string]);
    await deliver(JSON.stringify(other), 1);
    await waitFor(async () => (await conflictCount()) === before + 1, { what: 'the conflict counted' });
    const rows = await eventRows([first.eventId as string]);
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe('message.sent');
    // The same content again (keys in another order) is a plain repeat, not a conflict.
    const reordered = Object.fromEntries(Object.entries(first).reverse());
    const counts = await eventCounts(app.app);
    await deliver(JSON.stringify(reordered), 1);
    await waitFor(async () => (await eventCounts(app.app)).duplicate === counts.duplicate + 1, {
      what: 'repeat seen',
    });
    expect(await conflictCount()).toBe(before + 1);
  });

  it('never lets a repeated eventId with other content move the state, even with a higher revision', async () => {
    const key = `msg-conflict-${Date.now()}`;
    const first = envelope({ name: 'message.sent', revision: 1, payload: { id: key } });
    await deliver(JSON.stringify(first), 1);
    await waitForEvents([first.eventId as string]);
    // The same eventId again, claiming revision 5, together with a genuinely new revision 3.
    const repeat = { ...first, name: 'message.read', revision: 5 };
    const next = envelope({ name: 'message.delivered', revision: 3, payload: { id: key } });
    await deliver(JSON.stringify([repeat, next]), 2);
    const [stored] = await waitForEvents([next.eventId as string]);
    expect(stored.outcome).toBe('applied');
    expect(
      await db.rows('SELECT revision, event_id, event_name FROM entity_revisions WHERE entity_id = $1', [
        key,
      ]),
    ).toEqual([{ revision: '3', event_id: next.eventId, event_name: 'message.delivered' }]);
    expect((await eventRows([first.eventId as string]))[0]).toMatchObject({
      revision: '1',
      name: 'message.sent',
    });
  });

  const conflictCount = async () => {
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    return Number(/^webhook_event_conflicts_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
  };
});
