import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseService } from '../src/database/database.service';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { FIXTURES, postWebhook } from './support/signing';

/**
 * Every envelope of test/fixtures/real/ (copied from Dotdigital's own pages; its README names them)
 * posted signed, one by one and all in one batch: accepted, stored once, the payload the file's
 * JSON, the entity the contract's rule names. A real envelope added to that folder is checked too.
 */

const REAL = join(FIXTURES, 'real');
const FILES = readdirSync(REAL)
  .filter((name) => name.endsWith('.json'))
  .sort();

interface Sent {
  eventId: string;
  name: string;
  accountId?: number;
  apiSpaceId?: string;
  payload?: Record<string, unknown>;
  profileId?: string;
  revision?: number;
  etag?: string;
  timestamp?: string;
}

const bytesOf = (file: string) => readFileSync(join(REAL, file));
const sentOf = (file: string) => JSON.parse(bytesOf(file).toString('utf8')) as Sent;

/** DESIGN §1, written out here on its own so the test does not check the service against itself. */
function entityIdByRule(sent: Sent): string | null {
  const id = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const payload = sent.payload ?? {};
  return id(payload.messageId) ?? id(payload.id) ?? id(payload.profileId) ?? id(sent.profileId);
}

/** What the rule gives for the files Dotdigital documents today, stated by hand. */
const DOCUMENTED: Record<string, [entityType: string, entityId: string, outcome: string]> = {
  'chat.create.json': ['chat', '8b4e7f49-7e16-4440-acf8-7aeab1ee1e91', 'applied'],
  'chatMessage.sent.inbound.json': ['chatMessage', '3f48daab-ff6e-48bd-8999-625851653aa9', 'applied'],
  'conversation.participantAdded.json': ['conversation', 'acme_conv_1', 'untracked'],
  'conversationMessage.sent.json': ['conversationMessage', '61320b34-0ca2-4a9f-8338-de33407450ba', 'applied'],
  'facebook.optin.json': ['facebook', 'joe.blogs@acme.com', 'untracked'],
  'message.sent.sms.json': ['message', 'e9f154c8-4011-493f-bb73-09cfcf8a1411', 'applied'],
  'presence.available.json': ['presence', 'PLATFORMUSER\\joe.blogs@acme.com', 'untracked'],
  'profile.create.json': ['profile', 'joe.blogs@acme.com', 'applied'],
  'profile.update.json': ['profile', 'joe.blogs@acme.com', 'applied'],
};

describe('real Dotdigital envelopes (test/fixtures/real)', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('real');
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url });
    await app.app.get(DatabaseService).ready;
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
    await db.rows('TRUNCATE webhook_events, entity_revisions, quarantined_deliveries');
  });

  it('knows the entity of every documented file (the table above matches the rule)', () => {
    expect(FILES).toEqual(expect.arrayContaining(Object.keys(DOCUMENTED)));
    for (const [file, [, entityId]] of Object.entries(DOCUMENTED))
      expect(entityIdByRule(sentOf(file))).toBe(entityId);
  });

  async function deliver(body: Buffer, accepted: number): Promise<string> {
    const res = await postWebhook(app.url, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted, quarantined: 0 });
    return res.headers.get('x-delivery-id')!;
  }

  const snapshot = async () => ({
    events: await db.rows('SELECT * FROM webhook_events ORDER BY event_id'),
    revisions: await db.rows('SELECT * FROM entity_revisions ORDER BY api_space_id, entity_type, entity_id'),
    quarantined: await db.count('SELECT count(*) FROM quarantined_deliveries'),
  });

  async function waitForAll(): Promise<Record<string, unknown>[]> {
    return waitFor(
      async () => {
        const rows = await db.rows('SELECT * FROM webhook_events ORDER BY event_id');
        return rows.length === FILES.length ? rows : null;
      },
      { what: `${FILES.length} stored events` },
    );
  }

  /** Every file's row: once, its JSON as payload, its entity by the rule, etag with its quotes. */
  async function expectStoredOnce(deliveryIds: Map<string, string>): Promise<void> {
    const rows = await waitForAll();
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    expect(byId.size).toBe(FILES.length);
    for (const file of FILES) {
      const sent = sentOf(file);
      const entityId = entityIdByRule(sent);
      const tracked = entityId !== null && Number.isSafeInteger(sent.revision);
      expect({ file, row: byId.get(sent.eventId) }).toEqual({
        file,
        row: expect.objectContaining({
          name: sent.name,
          entity_type: sent.name.split('.')[0],
          entity_id: entityId,
          revision: sent.revision === undefined ? null : String(sent.revision),
          etag: sent.etag ?? null,
          account_id: sent.accountId === undefined ? null : String(sent.accountId),
          api_space_id: sent.apiSpaceId ?? null,
          outcome: tracked ? 'applied' : 'untracked',
          payload: sent,
          delivery_id: deliveryIds.get(file),
        }),
      });
      const documented = DOCUMENTED[file];
      if (documented) {
        expect([file, sent.name.split('.')[0], entityId, tracked ? 'applied' : 'untracked']).toEqual([
          file,
          ...documented,
        ]);
      }
    }
    // The etag keeps its quote characters (`"2e-…"`), as Dotdigital sends it.
    const etags = rows.map((row) => row.etag).filter((etag) => etag !== null);
    expect(etags.length).toBeGreaterThan(0);
    for (const etag of etags) expect(etag).toMatch(/^".*"$/);
    const trackedKeys = FILES.map(sentOf)
      .filter((sent) => entityIdByRule(sent) !== null && Number.isSafeInteger(sent.revision))
      .map((sent) => ({
        api_space_id: sent.apiSpaceId ?? '',
        entity_type: sent.name.split('.')[0],
        entity_id: entityIdByRule(sent),
        revision: String(sent.revision),
        event_id: sent.eventId,
      }));
    const revisions = await db.rows(
      'SELECT api_space_id, entity_type, entity_id, revision, event_id FROM entity_revisions',
    );
    expect(revisions).toEqual(expect.arrayContaining(trackedKeys));
    expect(revisions).toHaveLength(trackedKeys.length);
    expect(await db.count('SELECT count(*) FROM quarantined_deliveries')).toBe(0);
  }

  it('stores each file posted alone once, and a second posting of each changes nothing', async () => {
    const deliveryIds = new Map<string, string>();
    for (const file of FILES) deliveryIds.set(file, await deliver(bytesOf(file), 1));
    await expectStoredOnce(deliveryIds);

    const before = await snapshot();
    const counts = await eventCounts(app.app);
    for (const file of FILES) await deliver(bytesOf(file), 1);
    await waitFor(async () => (await eventCounts(app.app)).duplicate === counts.duplicate + FILES.length, {
      what: 'the repeats consumed',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('stores every file once from one batch of them all, and a second posting changes nothing', async () => {
    // The batch body is a JSON array (inferred: Dotdigital documents no batch example), each item the file's exact bytes.
    const body = Buffer.concat([
      Buffer.from('['),
      ...FILES.flatMap((file, index) => (index === 0 ? [bytesOf(file)] : [Buffer.from(','), bytesOf(file)])),
      Buffer.from(']'),
    ]);
    const deliveryId = await deliver(body, FILES.length);
    await expectStoredOnce(new Map(FILES.map((file) => [file, deliveryId])));

    const before = await snapshot();
    const counts = await eventCounts(app.app);
    await deliver(body, FILES.length);
    await waitFor(async () => (await eventCounts(app.app)).duplicate === counts.duplicate + FILES.length, {
      what: 'the repeated batch consumed',
    });
    expect(await snapshot()).toEqual(before);
  });
});
