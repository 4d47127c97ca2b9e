/*
 * The statements of a retention pass. Each batch is one DELETE in autocommit (its own short
 * transaction) of the oldest rows below the cutoff, found through the table's (received_at, key)
 * index. Batches walk that index by keyset: the next one starts after the last key of the previous,
 * so no batch rescans the index entries of rows already deleted (they stay in the index until
 * VACUUM, and a long transaction elsewhere can keep them from being skipped cheaply).
 */

/** Something that runs SQL: a TypeORM QueryRunner (the lease's connection) or a test double. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export type RetentionTable = 'webhook_events' | 'quarantined_deliveries' | 'webhook_deliveries';

interface TableSpec {
  /** The unique column that completes received_at in the keyset index. */
  key: string;
  keyType: 'text' | 'bigint';
}

/** The tables retention empties, in the order a pass takes them; entity_revisions is never one. */
export const RETENTION_TABLES: readonly RetentionTable[] = [
  'webhook_events',
  'quarantined_deliveries',
  'webhook_deliveries',
];

const TABLES: Record<RetentionTable, TableSpec> = {
  // webhook_events_received_idx (received_at, event_id)
  webhook_events: { key: 'event_id', keyType: 'text' },
  // quarantined_deliveries_received_idx (received_at, id)
  quarantined_deliveries: { key: 'id', keyType: 'bigint' },
  // webhook_deliveries_received_idx (received_at, delivery_id)
  webhook_deliveries: { key: 'delivery_id', keyType: 'text' },
};

/** Where a batch stopped: the (received_at, key) of the last row it took, both as exact text. */
export interface BatchPosition {
  receivedAt: string;
  key: string;
}

export interface BatchOutcome {
  /** Rows the batch selected below the cutoff; fewer than the limit means the table is done. */
  selected: number;
  deleted: number;
  last: BatchPosition | null;
}

/**
 * The pass's cutoff, from the database's clock (the one that wrote received_at's default and
 * compares it), as text so it goes back into every batch exactly, microseconds included.
 */
export async function cutoffOf(runner: SqlRunner, days: number): Promise<string> {
  const rows = (await runner.query(`SELECT (now() - make_interval(days => $1))::text AS cutoff`, [days])) as {
    cutoff: string;
  }[];
  return rows[0].cutoff;
}

/** Deletes up to `limit` rows of `table` received before `cutoff`, after `after` in index order. */
export async function deleteBatch(
  runner: SqlRunner,
  table: RetentionTable,
  cutoff: string,
  after: BatchPosition | null,
  limit: number,
): Promise<BatchOutcome> {
  const { key, keyType } = TABLES[table];
  const params: unknown[] = [cutoff, limit];
  let resume = '';
  if (after) {
    params.push(after.receivedAt, after.key);
    resume = `AND (received_at, ${key}) > ($3::timestamptz, $4::${keyType})`;
  }
  // `doomed` is read twice, so PostgreSQL materialises it once; the DELETE probes the primary key.
  const rows = (await runner.query(
    `WITH doomed AS MATERIALIZED (
       SELECT ${key} AS key, received_at FROM ${table}
        WHERE received_at < $1::timestamptz ${resume}
        ORDER BY received_at, ${key}
        LIMIT $2),
     gone AS (DELETE FROM ${table} WHERE ${key} IN (SELECT key FROM doomed) RETURNING 1),
     last AS (SELECT received_at::text AS received_at, key::text AS key FROM doomed
               ORDER BY doomed.received_at DESC, doomed.key DESC LIMIT 1)
     SELECT (SELECT count(*) FROM doomed)::int AS selected, (SELECT count(*) FROM gone)::int AS deleted,
            (SELECT received_at FROM last) AS last_received_at, (SELECT key FROM last) AS last_key`,
    params,
  )) as { selected: number; deleted: number; last_received_at: string | null; last_key: string | null }[];
  const [row] = rows;
  return {
    selected: row.selected,
    deleted: row.deleted,
    last:
      row.last_received_at === null || row.last_key === null
        ? null
        : { receivedAt: row.last_received_at, key: row.last_key },
  };
}
