import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source.options';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { RetentionJob } from '../src/retention/retention.job';
import { LEASES } from '../src/database/session-lease';
import { runRetentionPass } from '../src/retention/retention.pass';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

/**
 * Retention (RETENTION_DAYS) against the real PostgreSQL and the real service (APP_ROLE=all, in
 * process), with the job's default options (first pass 5 s after the schema is ready). "Old" rows
 * are written directly with an old received_at: the job reads nothing else.
 */
const OLD = [
  'old-only-1',
  'old-only-2',
  'old-mixed-1',
  ...Array.from({ length: 20 }, (_, k) => `old-bulk-${k}`),
];
const KEPT = ['inside-window', 'recent-mixed-2', 'recent-1'];

/** The value of one series (`name{labels}` exactly as exposed) in /metrics; null when absent. */
async function sample(app: TestApp, series: string): Promise<number | null> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}
const deletedSeries = (table: string) => `webhook_retention_deleted_total{table="${table}"}`;
const LAST_SUCCESS = 'webhook_retention_last_success_timestamp_seconds';

describe('retention (RETENTION_DAYS)', () => {
  let scratch: ScratchDatabase;
  let db: Client;
  let probe: BrokerProbe;
  const apps: TestApp[] = [];
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await db.query(sql, params)).rows as T[];
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await q<{ n: string }>(sql, params))[0].n);
  const eventIds = async () =>
    (await q<{ event_id: string }>('SELECT event_id FROM webhook_events ORDER BY 1')).map((r) => r.event_id);

  /** An event as the consumer would have stored it, received `ago` (a PostgreSQL interval) ago. */
  const insertEvent = (eventId: string, ago: string, entityId: string | null = null, revision = 1) =>
    q(
      `INSERT INTO webhook_events (event_id, name, api_space_id, entity_type, entity_id, revision, outcome,
                                   payload, received_at, delivery_id)
       VALUES ($1, 'message.sent', 'space-r', 'message', $2, $3, CASE WHEN $2::text IS NULL THEN 'untracked' ELSE 'applied' END,
               jsonb_build_object('eventId', $1::text, 'padding', repeat('x', 500)), now() - $4::interval, 'd-' || $1)`,
      [eventId, entityId, revision, ago],
    );
  const insertRevision = (entityId: string, revision: number, eventId: string) =>
    q(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
       VALUES ('space-r', 'message', $1, $2, $3, 'message.sent')`,
      [entityId, revision, eventId],
    );
  const insertQuarantine = (deliveryId: string, ago: string) =>
    q(
      `INSERT INTO quarantined_deliveries (received_at, reason, body, delivery_id)
       VALUES (now() - $2::interval, 'not JSON', '\\x00ff'::bytea, $1)`,
      [deliveryId, ago],
    );

  const start = async (env: Record<string, string>) => {
    const app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url, ...env });
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('retention');
    const dataSource = new DataSource(dataSourceOptions(scratch.url));
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    await dataSource.destroy();
    db = new Client({ connectionString: scratch.url });
    await db.connect();
    probe = await BrokerProbe.connect();
    // An entity whose only events are old, one with an old and a new event, one inside the window.
    await insertEvent('old-only-1', '10 days', 'msg-old-only', 1);
    await insertEvent('old-only-2', '9 days', 'msg-old-only', 2);
    await insertRevision('msg-old-only', 2, 'old-only-2');
    await insertEvent('old-mixed-1', '30 days', 'msg-mixed', 1);
    await insertEvent('recent-mixed-2', '1 hour', 'msg-mixed', 2);
    await insertRevision('msg-mixed', 2, 'recent-mixed-2');
    await insertEvent('inside-window', '6 days 23 hours', 'msg-inside', 1);
    await insertRevision('msg-inside', 1, 'inside-window');
    for (let k = 0; k < 20; k++) await insertEvent(`old-bulk-${k}`, `${8 + k} days`);
    await insertEvent('recent-1', '1 minute');
    const quarantine = { 'dq-old-1': '8 days', 'dq-old-2': '400 days', 'dq-new': '6 days' };
    for (const [id, ago] of Object.entries(quarantine)) await insertQuarantine(id, ago);
    for (const [id, ago] of Object.entries({ 'wd-old': '8 days', 'wd-new': '6 days' })) {
      await q(
        `INSERT INTO webhook_deliveries (delivery_id, received_at, events, repeats, quarantined)
         VALUES ($1, now() - $2::interval, 1, 0, 0)`,
        [id, ago],
      );
    }
  });

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    for (const app of apps) await probe?.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    await db?.end();
    await scratch?.drop();
  });

  it('with RETENTION_DAYS unset removes nothing and exports no retention metric', async () => {
    const app = await start({});
    // The worker runs: a new event is stored.
    const fresh = envelope();
    expect((await postWebhook(app.url, JSON.stringify(fresh))).status).toBe(200);
    await waitFor(
      async () =>
        (await count('SELECT count(*) AS n FROM webhook_events WHERE event_id = $1', [fresh.eventId])) === 1,
    );
    const job = app.app.get(RetentionJob);
    expect(job.enabled).toBe(false);
    expect(await job.runPass()).toBeNull();
    expect(await (await fetch(`${app.url}/metrics`)).text()).not.toContain('webhook_retention_');
    expect(await eventIds()).toEqual([...OLD, ...KEPT, fresh.eventId as string].sort());
    expect(await count('SELECT count(*) AS n FROM quarantined_deliveries')).toBe(3);
    await app.close();
    apps.pop();
    await q('DELETE FROM webhook_events WHERE event_id = $1', [fresh.eventId]);
  });

  it('soon after start-up removes what is older than the window; keeps newer rows and every entity', async () => {
    const app = await start({ RETENTION_DAYS: '7' });
    // Exported at 0 before the first pass.
    expect(await sample(app, deletedSeries('webhook_events'))).toBe(0);
    expect(await sample(app, deletedSeries('quarantined_deliveries'))).toBe(0);
    expect(await sample(app, LAST_SUCCESS)).toBe(0);

    const finished = await waitFor(async () => (await sample(app, LAST_SUCCESS)) || null, {
      timeoutMs: 30000,
      what: 'the first retention pass',
    });
    expect(finished * 1000).toBeGreaterThan(Date.now() - 30000);
    expect(await eventIds()).toEqual([...KEPT].sort());
    expect((await q('SELECT delivery_id FROM quarantined_deliveries')).map((r) => r.delivery_id)).toEqual([
      'dq-new',
    ]);
    expect(
      (await q(`SELECT delivery_id FROM webhook_deliveries WHERE delivery_id LIKE 'wd-%'`)).map(
        (r) => r.delivery_id,
      ),
    ).toEqual(['wd-new']);
    // entity_revisions is never touched, including the entity whose every event went.
    expect(
      await q(
        `SELECT entity_id, revision::int, event_id FROM entity_revisions WHERE api_space_id = 'space-r' ORDER BY 1`,
      ),
    ).toEqual([
      { entity_id: 'msg-inside', revision: 1, event_id: 'inside-window' },
      { entity_id: 'msg-mixed', revision: 2, event_id: 'recent-mixed-2' },
      { entity_id: 'msg-old-only', revision: 2, event_id: 'old-only-2' },
    ]);
    expect(await sample(app, deletedSeries('webhook_events'))).toBe(OLD.length);
    expect(await sample(app, deletedSeries('quarantined_deliveries'))).toBe(2);
  });

  it('a repeated eventId received within the window is still a duplicate (one past it is new again)', async () => {
    const [app] = apps;
    const before = await eventCounts(app.app);
    const repeat = envelope({ eventId: 'inside-window', payload: { id: 'msg-inside' } });
    const past = envelope({ eventId: 'old-bulk-0' });
    for (const body of [repeat, past])
      expect((await postWebhook(app.url, JSON.stringify(body))).status).toBe(200);
    await waitFor(async () => {
      const now = await eventCounts(app.app);
      return now.duplicate === before.duplicate + 1 && now.applied === before.applied + 1;
    });
    // Not stored twice: the row of the first receipt, six days and 23 hours old, stays.
    const rows = await q<{ age: boolean }>(
      `SELECT received_at < now() - interval '6 days' AS age FROM webhook_events WHERE event_id = 'inside-window'`,
    );
    expect(rows).toEqual([{ age: true }]);
    // Its row was removed by retention, so the same id received now is a new event.
    expect(await count(`SELECT count(*) AS n FROM webhook_events WHERE event_id = 'old-bulk-0'`)).toBe(1);
    // A pass now still keeps the row inside the window.
    const result = await app.app.get(RetentionJob).runPass();
    expect(result?.deleted).toEqual({ webhook_events: 0, quarantined_deliveries: 0, webhook_deliveries: 0 });
    expect(await count(`SELECT count(*) AS n FROM webhook_events WHERE event_id = 'inside-window'`)).toBe(1);
  });

  it('only one of two replicas works a pass: the other finds the advisory lock taken', async () => {
    const [first] = apps;
    const second = await start({ RETENTION_DAYS: '7' });
    // Its own first pass (nothing left to do) is over before the manual ones below.
    await waitFor(async () => (await sample(second, LAST_SUCCESS)) || null, { timeoutMs: 30000 });
    for (let k = 0; k < 50; k++) await insertEvent(`late-old-${k}`, '20 days');

    // Hold one of the old rows: the first replica's pass then waits inside its DELETE, lease in hand.
    const holder = new Client({ connectionString: scratch.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM webhook_events WHERE event_id = 'late-old-7' FOR UPDATE`);
    const pass = first.app.get(RetentionJob).runPass();
    const { classId, objId } = LEASES.retention;
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND classid = $1 AND objid = $2 AND objsubid = 2`,
          [classId, objId],
        )) === 1 &&
        (await count(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )) === 1,
      { what: 'the first replica holding the lease, waiting on the held row' },
    );
    expect(await second.app.get(RetentionJob).runPass()).toBeNull();
    await holder.query('ROLLBACK');
    await holder.end();
    expect((await pass)?.deleted).toEqual({
      webhook_events: 50,
      quarantined_deliveries: 0,
      webhook_deliveries: 0,
    });
    expect(await count(`SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE 'late-old-%'`)).toBe(0);
    expect(await sample(first, deletedSeries('webhook_events'))).toBe(OLD.length + 50);
    expect(await sample(second, deletedSeries('webhook_events'))).toBe(0);
    // Once free, the second takes the lease itself.
    expect((await second.app.get(RetentionJob).runPass())?.completed).toBe(true);
  });

  it('walks the index in small batches, rows sharing a received_at included', async () => {
    // Every event of one delivery has the same received_at: 1,000 rows, 10 distinct times.
    await q(
      `INSERT INTO webhook_events (event_id, name, entity_type, outcome, payload, received_at, delivery_id)
       SELECT 'tie-' || g, 'message.sent', 'message', 'untracked', '{}',
              date_trunc('second', now()) - interval '10 days' - (g % 10) * interval '1 minute', 'd-tie'
         FROM generate_series(1, 1000) AS g`,
    );
    await q(
      `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
       SELECT now() - interval '10 days', 'bad item', '\\x00'::bytea, g, 'dq-tie' FROM generate_series(1, 25) AS g`,
    );
    const runner = { query: async (sql: string, params?: unknown[]) => (await db.query(sql, params)).rows };
    const deleted: number[] = [];
    const result = await runRetentionPass({
      runner,
      days: 7,
      options: { batchSize: 7, pauseMs: 0, pauseFactor: 0 },
      signal: new AbortController().signal,
      onDeleted: (_table, rows) => deleted.push(rows),
    });
    expect(result.deleted).toEqual({
      webhook_events: 1000,
      quarantined_deliveries: 25,
      webhook_deliveries: 0,
    });
    expect(result.batches).toBe(Math.ceil(1001 / 7) + Math.ceil(26 / 7) + 1);
    expect(Math.max(...deleted)).toBe(7);
    expect(await count(`SELECT count(*) AS n FROM webhook_events WHERE event_id LIKE 'tie-%'`)).toBe(0);
    expect(await eventIds()).toEqual([...KEPT, 'old-bulk-0'].sort());
  });
});
