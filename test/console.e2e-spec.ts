import { createHash } from 'node:crypto';
import { BrokerProbe } from './support/broker';
import { ConsoleClient } from './support/console-client';
import { Db } from './support/db';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { postWebhook } from './support/signing';

const OPERATOR_KEY = 'console-e2e-operator-key-0123456789abcdef';
const READ_KEY = 'console-e2e-read-only-key-0123456789abcdef';
const keyId = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8);

/**
 * Console sessions and admin roles across processes: two built services (role all) on one database
 * and broker, as two worker replicas behind a load balancer. Ports 3865-3866.
 */
describe('console sessions, read-only keys and the audit trail', () => {
  let scratch: ScratchDatabase;
  let db: Db;
  const prefix = uniquePrefix('console-e2e');
  let one: ServiceProcess;
  let two: ServiceProcess;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('console');
    db = await Db.connect(scratch.url);
    const env = {
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      AMQP_PREFIX: prefix,
      ADMIN_API_KEYS: OPERATOR_KEY,
      ADMIN_READ_KEYS: READ_KEY,
    };
    one = new ServiceProcess(3865, env);
    two = new ServiceProcess(3866, env);
    await one.start();
    await two.start();
  }, 120_000);

  afterAll(async () => {
    await one?.dispose();
    await two?.dispose();
    const probe = await BrokerProbe.connect();
    await probe.deleteTopology(prefix);
    await probe.close();
    await db?.close();
    await scratch?.drop();
  });

  const admin = (path: string, key: string, body?: unknown) =>
    fetch(`${one.url}/admin${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${key}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('a session made on one process is valid on the other, and after the first restarts', async () => {
    const client = await ConsoleClient.signIn(one.url, OPERATOR_KEY);
    expect(client.cookie).toMatch(/^console_session=/);
    expect((await client.get('/console', two.url)).status).toBe(200);
    await one.dispose();
    await one.start();
    expect((await client.get('/console', one.url)).status).toBe(200);
    expect(
      await db.count(`SELECT count(*) FROM console_sessions WHERE key_id = $1`, [keyId(OPERATOR_KEY)]),
    ).toBe(1);
  });

  it('sets the cookie HttpOnly, SameSite=Strict, Path=/console; Secure when the balancer says https', async () => {
    const signIn = (headers: Record<string, string>) =>
      fetch(`${one.url}/console/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body: `key=${encodeURIComponent(OPERATOR_KEY)}`,
        redirect: 'manual',
      });
    const plain = (await signIn({})).headers.get('set-cookie') ?? '';
    expect(plain).toMatch(/HttpOnly/);
    expect(plain).toMatch(/SameSite=Strict/);
    expect(plain).toMatch(/Path=\/console/);
    expect(plain).not.toMatch(/Secure/);
    expect((await signIn({ 'X-Forwarded-Proto': 'https' })).headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('an ended session sends a page to sign-in, and a form posted with it is 401 and changes nothing', async () => {
    const client = await ConsoleClient.signIn(two.url, OPERATOR_KEY);
    const token = await client.csrfToken();
    await db.rows(`UPDATE console_sessions SET expires_at = now() - interval '1 second'`);
    const page = await client.get('/console/events');
    expect([page.status, page.headers.get('location')]).toEqual([303, '/console/login?ended=1']);
    const before = await db.count(`SELECT count(*) FROM admin_audit`);
    const post = await client.post('/console/dead-letters/move', { _csrf: token, reason: 'too late' });
    expect(post.status).toBe(401);
    expect(await post.text()).toContain('Your session has ended');
    expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(before);
  });

  it('a wrong key is the sign-in page again (401); more than 10 a minute from one address is 429', async () => {
    const wrong = () =>
      fetch(`${two.url}/console/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'key=not-a-key-of-this-service',
      });
    const first = await wrong();
    expect(first.status).toBe(401);
    expect(await first.text()).toContain('not an admin key');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await wrong()).status);
    expect(statuses).toEqual([...Array(9).fill(401), 429]);
  });

  it('/admin: a read-only key reads (GET) and is 403 on every action, which changes nothing', async () => {
    expect((await admin('/events', READ_KEY)).status).toBe(200);
    expect((await admin('/audit', READ_KEY)).status).toBe(200);
    const before = await db.count(`SELECT count(*) FROM admin_audit`);
    for (const [path, body] of [
      ['/quarantine/1/replay', { reason: 'read key' }],
      ['/quarantine/1/resolve', { reason: 'read key' }],
      ['/dead-letters/replay', { reason: 'read key' }],
      [
        '/events/replay',
        { since: '2026-11-20T00:00:00Z', until: '2026-11-21T00:00:00Z', reason: 'read key' },
      ],
    ] as const) {
      const res = await admin(path, READ_KEY, body);
      expect([path, res.status]).toEqual([path, 403]);
      await res.arrayBuffer();
    }
    expect(await db.count(`SELECT count(*) FROM admin_audit`)).toBe(before);
  });

  it('every action, from /admin or the console, writes its audit row with the key id, the reason and the result', async () => {
    expect((await postWebhook(one.url, '{"name":"message.sent"}')).status).toBe(400);
    const quarantined = await waitFor(
      async () =>
        (await db.rows<{ id: string }>(`SELECT id::text AS id FROM quarantined_deliveries`))[0]?.id ?? null,
      { what: 'the bad delivery quarantined' },
    );
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date(Date.now() + 60_000).toISOString();
    expect(
      (await admin(`/quarantine/${quarantined}/replay`, OPERATOR_KEY, { reason: 'from the API' })).status,
    ).toBe(202);
    expect((await admin('/dead-letters/replay', OPERATOR_KEY, { reason: 'none there' })).status).toBe(200);
    const client = await ConsoleClient.signIn(one.url, OPERATOR_KEY);
    const replay = await client.post('/console/replay', {
      _csrf: await client.csrfToken(),
      since,
      until,
      reason: 'backfill',
    });
    expect(replay.status).toBe(200);
    const rows = await db.rows<{
      key_id: string;
      action: string;
      target: string;
      reason: string;
      result: unknown;
    }>(`SELECT key_id, action, target, reason, result FROM admin_audit ORDER BY id`);
    expect(rows).toEqual([
      {
        key_id: keyId(OPERATOR_KEY),
        action: 'quarantine.replay',
        target: `quarantine/${quarantined}`,
        reason: 'from the API',
        result: { deliveryId: expect.any(String) },
      },
      {
        key_id: keyId(OPERATOR_KEY),
        action: 'dead-letters.move',
        target: 'dead-letters limit=all',
        reason: 'none there',
        result: { moved: 0 },
      },
      {
        key_id: keyId(OPERATOR_KEY),
        action: 'events.replay',
        target: expect.stringContaining('events '),
        reason: 'backfill',
        result: { events: 0 },
      },
    ]);
    const trail = (await (await admin('/audit?limit=2', READ_KEY)).json()) as {
      items: { action: string }[];
      nextCursor: string;
    };
    expect(trail.items.map((item) => item.action)).toEqual(['events.replay', 'dead-letters.move']);
    const rest = (await (
      await admin(`/audit?cursor=${encodeURIComponent(trail.nextCursor)}`, READ_KEY)
    ).json()) as {
      items: { action: string }[];
    };
    expect(rest.items.map((item) => item.action)).toEqual(['quarantine.replay']);
  });
});
