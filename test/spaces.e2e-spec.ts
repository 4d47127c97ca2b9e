import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { TEST_SECRET } from './support/env';
import { waitFor } from './support/poll';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * API spaces (docs/operations.md, section 4) with the real application in this process (APP_ROLE=all, the real broker and
 * database): secrets per API space from WEBHOOK_SPACES_FILE, and a space's secret proving only its
 * own space. Reloading the file while deliveries come is in spaces-reload.e2e-spec.ts; SIGHUP and the
 * `_FILE` variables, which need a process of their own, in spaces-process.e2e-spec.ts.
 */

const A1 = 'space-a-secret-e2e-0000000001';
const A2 = 'space-a-secret-e2e-0000000002'; // in no entry
const B1 = 'space-b-secret-e2e-0000000001';
const STAR = 'star-secret-e2e-000000000001';
const REASON = 'apiSpaceId does not match the secret';

/** The rows `query` finds, once it finds any. */
const someRows = <T>(query: () => Promise<T[]>, what: string) =>
  waitFor(
    async () => {
      const rows = await query();
      return rows.length > 0 ? rows : null;
    },
    { what },
  );

const post = (app: TestApp, items: object | object[], secret: string) => {
  const body = JSON.stringify(items);
  return postWebhook(app.url, body, { signature: sign(body, secret) });
};

describe('API spaces with their own secrets (WEBHOOK_SPACES_FILE)', () => {
  let dir: string;
  let file: string;
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;
  const write = (content: object, path = file) => writeFileSync(path, JSON.stringify(content));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spaces-e2e-'));
    file = join(dir, 'spaces.json');
    write({ 'space-a': [A1], 'space-b': [B1], '*': [STAR] });
    // WEBHOOK_SECRETS (TEST_SECRET, from startApp) stays: it accepts any space too.
    app = await startApp({ APP_ROLE: 'all', WEBHOOK_SPACES_FILE: file });
    db = await Db.connect();
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
    rmSync(dir, { recursive: true, force: true });
  });

  const storedSpaces = (deliveryId: string) =>
    db.rows<{ api_space_id: string }>('SELECT api_space_id FROM webhook_events WHERE delivery_id = $1', [
      deliveryId,
    ]);
  const quarantineOf = (deliveryId: string) =>
    db.rows<{ reason: string; body: Buffer; item_index: number | null }>(
      'SELECT reason, body, item_index FROM quarantined_deliveries WHERE delivery_id = $1',
      [deliveryId],
    );

  it.each([
    ['space A with its own secret', 'space-a', A1],
    ['space B with its own secret', 'space-b', B1],
    ['any space with the "*" secret', 'space-c', STAR],
    ['any space with WEBHOOK_SECRETS', 'space-b', TEST_SECRET],
  ])('stores a delivery of %s', async (_, space, secret) => {
    const res = await post(app, envelope({ apiSpaceId: space }), secret);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, quarantined: 0 });
    const deliveryId = res.headers.get('x-delivery-id')!;
    const rows = await someRows(() => storedSpaces(deliveryId), 'the event stored');
    expect(rows).toEqual([{ api_space_id: space }]);
  });

  it.each([
    ["space A's secret over an envelope of space B", [envelope({ apiSpaceId: 'space-b' })]],
    [
      'a batch mixing spaces A and B under A’s secret',
      [envelope({ apiSpaceId: 'space-a' }), envelope({ apiSpaceId: 'space-b' })],
    ],
    [
      "an envelope without apiSpaceId under A's secret",
      [envelope({ apiSpaceId: 'space-a' }), envelope({ apiSpaceId: undefined })],
    ],
  ])('quarantines %s whole, answers 200 and stores no event', async (_, items) => {
    const body = JSON.stringify(items.length === 1 ? items[0] : items);
    const res = await postWebhook(app.url, body, { signature: sign(body, A1) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 0, quarantined: items.length });
    const deliveryId = res.headers.get('x-delivery-id')!;
    const [row] = await someRows(() => quarantineOf(deliveryId), 'the delivery quarantined');
    expect(row).toEqual({ reason: REASON, body: Buffer.from(body), item_index: null });
    // Written in the same transaction as its events would have been: none, by delivery or by id.
    expect(await storedSpaces(deliveryId)).toEqual([]);
    const ids = items.map((item) => item.eventId as string);
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [ids])).toBe(0);
  });

  it('still answers 400 for a malformed body under a space secret, and keeps it', async () => {
    const res = await postWebhook(app.url, '{"apiSpaceId":"space-b"', {
      signature: sign('{"apiSpaceId":"space-b"', A1),
    });
    expect(res.status).toBe(400);
    const deliveryId = res.headers.get('x-delivery-id')!;
    const [row] = await someRows(() => quarantineOf(deliveryId), 'the body kept');
    expect(row.reason).toBe('body is not valid JSON');
  });

  it('counts matches by space and key: a fingerprint, never a secret or its digest', async () => {
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    const matches = [
      ...metrics.matchAll(/^webhook_signature_matches_total\{space="([^"]*)",key="([^"]*)"\} (\d+)/gm),
    ];
    const fingerprint = (secret: string) => createHash('sha256').update(secret).digest('hex');
    const byLabels = Object.fromEntries(
      matches.map(([, space, key, value]) => [`${space}/${key}`, Number(value)]),
    );
    expect(byLabels[`space-a/${fingerprint(A1).slice(0, 8)}`]).toBeGreaterThanOrEqual(4);
    expect(byLabels[`space-b/${fingerprint(B1).slice(0, 8)}`]).toBe(1);
    expect(byLabels[`*/${fingerprint(STAR).slice(0, 8)}`]).toBe(1);
    expect(byLabels[`*/${fingerprint(TEST_SECRET).slice(0, 8)}`]).toBe(1);
    for (const [, , key] of matches) expect(key).toMatch(/^[0-9a-f]{8}$/);
    for (const secret of [A1, A2, B1, STAR, TEST_SECRET]) {
      expect(metrics).not.toContain(secret);
      expect(metrics).not.toContain(fingerprint(secret));
    }
    expect(metrics).toMatch(/^webhook_deliveries_total\{result="space_mismatch"\} 3$/m);
  });
});
