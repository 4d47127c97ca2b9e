import { DataSource } from 'typeorm';
import { MIGRATIONS_TABLE, dataSourceOptions } from '../src/database/data-source.options';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { Db } from './support/db';
import { ScratchDatabase } from './support/scratch-database';

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: 'YES' | 'NO';
}

/** The storage contract (docs/architecture.md), column by column: name → PostgreSQL type. */
const CONTRACT: Record<string, Record<string, string>> = {
  webhook_events: {
    event_id: 'text',
    name: 'text',
    account_id: 'bigint',
    api_space_id: 'text',
    entity_type: 'text',
    entity_id: 'text',
    revision: 'bigint',
    etag: 'text',
    event_timestamp: 'timestamp with time zone',
    outcome: 'text',
    payload: 'jsonb',
    received_at: 'timestamp with time zone',
    delivery_id: 'text',
    traceparent: 'text',
  },
  entity_revisions: {
    api_space_id: 'text',
    entity_type: 'text',
    entity_id: 'text',
    revision: 'bigint',
    event_id: 'text',
    event_name: 'text',
    event_timestamp: 'timestamp with time zone',
    updated_at: 'timestamp with time zone',
  },
  quarantined_deliveries: {
    id: 'bigint',
    received_at: 'timestamp with time zone',
    reason: 'text',
    body: 'bytea',
    item_index: 'integer',
    delivery_id: 'text',
    replayed_at: 'timestamp with time zone',
    replay_delivery_id: 'text',
    resolved_at: 'timestamp with time zone',
    resolved_reason: 'text',
  },
  feed_outbox: {
    position: 'bigint',
    event_ids: 'ARRAY',
    replay: 'boolean',
    enqueued_at: 'timestamp with time zone',
  },
  admin_audit: {
    id: 'bigint',
    at: 'timestamp with time zone',
    key_id: 'text',
    action: 'text',
    target: 'text',
    reason: 'text',
    result: 'jsonb',
  },
  webhook_deliveries: {
    delivery_id: 'text',
    received_at: 'timestamp with time zone',
    stored_at: 'timestamp with time zone',
    events: 'integer',
    repeats: 'integer',
    quarantined: 'integer',
    repeat_event_ids: 'ARRAY',
    key_id: 'text',
    api_space_id: 'text',
  },
  console_sessions: {
    id_hash: 'text',
    role: 'text',
    key_id: 'text',
    csrf_token: 'text',
    last_seen_at: 'timestamp with time zone',
    expires_at: 'timestamp with time zone',
  },
};

const MIGRATIONS = [
  'InitialSchema1764403200000',
  'FeedOutboxAndOperations1764921600000',
  'AuditAndConsoleSessions1765065600000',
  'EventTraceparent1765152000000',
  'WebhookDeliveries1765238400000',
  'QuarantineResolution1765324800000',
  'HttpDestinations1765411200000',
  'RareValueIndexes1765497600000',
];

describe('migrations', () => {
  let scratch: ScratchDatabase;
  let db: Db;
  const sources: DataSource[] = [];
  let applied: string[][];

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('migrations');
    for (let i = 0; i < 4; i++) sources.push(new DataSource(dataSourceOptions(scratch.url)));
    await Promise.all(sources.map((source) => source.initialize()));
    // Four replicas starting together on a fresh database.
    applied = await Promise.all(sources.map((source) => runMigrationsLocked(source)));
    db = await Db.connect(scratch.url);
  });

  afterAll(async () => {
    await db?.close();
    await Promise.all(sources.filter((s) => s.isInitialized).map((s) => s.destroy()));
    await scratch?.drop();
  });

  it('applies each migration exactly once when replicas start together', async () => {
    const runs = applied.filter((names) => names.length > 0);
    expect(runs).toEqual([MIGRATIONS]);
    expect(applied.filter((names) => names.length === 0)).toHaveLength(3);
    expect(await db.rows(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)).toEqual(
      MIGRATIONS.map((name) => ({ name })),
    );
  });

  it('finds nothing to do on a later start', async () => {
    expect(await runMigrationsLocked(sources[0])).toEqual([]);
    expect(await db.count(`SELECT count(*) FROM ${MIGRATIONS_TABLE}`)).toBe(MIGRATIONS.length);
  });

  it('leaves the entities nothing to change: TypeORM sees the migrated schema as its own', async () => {
    const pending = await sources[0].driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('creates the tables with the column names and types of the storage contract', async () => {
    const columns = await db.rows<ColumnRow>(
      `SELECT table_name, column_name, data_type, is_nullable
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ANY($1)`,
      [Object.keys(CONTRACT)],
    );
    for (const [table, expected] of Object.entries(CONTRACT)) {
      const actual = Object.fromEntries(
        columns.filter((c) => c.table_name === table).map((c) => [c.column_name, c.data_type]),
      );
      expect(actual).toMatchObject(expected);
    }
    const nullable = (table: string, column: string) =>
      columns.find((c) => c.table_name === table && c.column_name === column)?.is_nullable;
    // "entity_id (null when the event names none)"; "item_index (null for a whole delivery)".
    expect(nullable('webhook_events', 'entity_id')).toBe('YES');
    expect(nullable('webhook_events', 'event_id')).toBe('NO');
    expect(nullable('quarantined_deliveries', 'item_index')).toBe('YES');
    expect(nullable('quarantined_deliveries', 'body')).toBe('NO');
  });

  it('keys entity_revisions on (api_space_id, entity_type, entity_id) and makes webhook_events.event_id unique', async () => {
    const keyColumns = await db.rows<{ table_name: string; constraint_type: string; columns: string[] }>(
      `SELECT tc.table_name, tc.constraint_type,
              array_agg(kcu.column_name::text ORDER BY kcu.ordinal_position) AS columns
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
        WHERE tc.table_schema = 'public' AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE')
        GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type`,
    );
    expect(keyColumns).toEqual(
      expect.arrayContaining([
        {
          table_name: 'entity_revisions',
          constraint_type: 'PRIMARY KEY',
          columns: ['api_space_id', 'entity_type', 'entity_id'],
        },
        {
          table_name: 'webhook_events',
          constraint_type: expect.stringMatching(/^(PRIMARY KEY|UNIQUE)$/),
          columns: ['event_id'],
        },
      ]),
    );

    const row = [
      'evt-unique',
      'message.sent',
      'message',
      'applied',
      '{}',
      new Date().toISOString(),
      'delivery-1',
    ];
    const insert = `INSERT INTO webhook_events (event_id, name, entity_type, outcome, payload, received_at, delivery_id)
                    VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)`;
    await db.rows(insert, row);
    await expect(db.rows(insert, row)).rejects.toMatchObject({ code: '23505' });
    await db.rows(`DELETE FROM webhook_events WHERE event_id = 'evt-unique'`);
  });

  it('creates the indexes the migration declares, with quarantine unique per delivery and item', async () => {
    const indexes = await db.rows<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`,
    );
    const byName = Object.fromEntries(indexes.map((i) => [i.indexname, i.indexdef]));
    expect(byName.webhook_events_entity_idx).toContain('(entity_id, entity_type, api_space_id, revision)');
    expect(byName.webhook_events_delivery_idx).toContain('(delivery_id)');
    expect(byName.webhook_events_received_idx).toContain('(received_at, event_id)');
    expect(byName.webhook_events_name_received_idx).toContain('(name, received_at, event_id)');
    expect(byName.webhook_events_space_received_idx).toContain('(api_space_id, received_at, event_id)');
    expect(byName.webhook_events_type_received_idx).toMatch(
      /\(entity_type, received_at, event_id\) WHERE \(entity_type <> 'message'::text\)$/,
    );
    expect(byName.webhook_events_outcome_received_idx).toMatch(
      /\(outcome, received_at, event_id\) WHERE \(outcome <> 'applied'::text\)$/,
    );
    expect(byName).not.toHaveProperty('webhook_events_name_time_idx');
    expect(byName.quarantined_deliveries_item_uq).toMatch(
      /^CREATE UNIQUE INDEX .*\(delivery_id, COALESCE\(item_index, '?-1'?/,
    );
    expect(byName.quarantined_deliveries_received_idx).toContain('(received_at, id)');
    expect(byName.feed_outbox_pkey).toContain('("position")');
    expect(byName.admin_audit_at_idx).toContain('(at, id)');
    expect(byName.webhook_deliveries_received_idx).toContain('(received_at, delivery_id)');
    expect(byName.webhook_deliveries_repeats_idx).toMatch(
      /USING gin \(repeat_event_ids\) WHERE \(repeat_event_ids IS NOT NULL\)/,
    );
  });

  it('rejects an outcome outside applied, stale and untracked', async () => {
    await expect(
      db.rows(
        `INSERT INTO webhook_events (event_id, name, entity_type, outcome, payload, received_at, delivery_id)
         VALUES ('evt-bad-outcome', 'message.sent', 'message', 'maybe', '{}', now(), 'd')`,
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
