import { jsonColumn as column, jsonElements as elements } from '../events/json-column';
import type { OwedEvent } from './destination.request';

/** A connection to run statements on: the lease's, a query runner, a transaction's manager. */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** One event owed to one destination: its place in the outbox (storage order) and its entity. */
export interface OwedRow {
  destination: string;
  position: string;
  item: number;
  eventId: string;
  entityKey: string | null;
}

/** Records what each destination is owed; run in the transaction that deletes the outbox entries. */
export async function insertOwed(runner: Queryable, rows: readonly OwedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await runner.query(
    `INSERT INTO destination_events (destination, position, item, event_id, entity_key)
     SELECT destination, position::bigint, item::integer, event_id, entity_key
       FROM ROWS FROM (${elements(1)}, ${elements(2)}, ${elements(3)}, ${elements(4)}, ${elements(5)})
            AS t(destination, position, item, event_id, entity_key)
     ON CONFLICT DO NOTHING`,
    [
      column(rows.map((r) => r.destination)),
      column(rows.map((r) => r.position)),
      column(rows.map((r) => r.item)),
      column(rows.map((r) => r.eventId)),
      column(rows.map((r) => r.entityKey)),
    ],
  );
}

/** A row's key: (position, item) within its destination. */
export interface RowKey {
  position: string;
  item: number;
}

export interface DueRow extends RowKey {
  attempts: number;
  /** The stored event, or null when retention removed it meanwhile. */
  event: OwedEvent | null;
}

interface DueRecord {
  position: string;
  item: number;
  attempts: number;
  event_id: string;
  found: boolean;
  outcome: string;
  entity_type: string;
  entity_id: string | null;
  revision: string | null;
  payload: string;
  traceparent: string | null;
}

/**
 * The oldest rows of `destination` that may be sent now, at most `limit`, none of `inFlight`. With
 * ordering by entity, a row waits while an older row of its entity is still pending (retrying, or
 * in flight): an entity's events go one at a time, in storage order; other entities do not wait.
 */
export async function readDue(
  runner: Queryable,
  destination: string,
  byEntity: boolean,
  limit: number,
  inFlight: readonly RowKey[],
): Promise<DueRow[]> {
  const rows = (await runner.query(
    `SELECT d.position::text AS position, d.item, d.attempts, d.event_id, e.event_id IS NOT NULL AS found,
            e.outcome, e.entity_type, e.entity_id, e.revision::text AS revision, e.payload::text AS payload,
            e.traceparent
       FROM destination_events d
       LEFT JOIN webhook_events e ON e.event_id = d.event_id
      WHERE d.destination = $1 AND d.state = 'pending' AND d.next_attempt_at <= now()
        AND (d.position, d.item) NOT IN (SELECT p::bigint, i::integer FROM ROWS FROM (${elements(4)}, ${elements(5)}) AS f(p, i))
        AND (NOT $2 OR d.entity_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM destination_events o
               WHERE o.destination = d.destination AND o.entity_key = d.entity_key AND o.state = 'pending'
                 AND (o.position, o.item) < (d.position, d.item)))
      ORDER BY d.position, d.item
      LIMIT $3`,
    [
      destination,
      byEntity,
      limit,
      column(inFlight.map((k) => k.position)),
      column(inFlight.map((k) => k.item)),
    ],
  )) as DueRecord[];
  return rows.map((row) => ({
    position: row.position,
    item: row.item,
    attempts: row.attempts,
    event: row.found
      ? {
          eventId: row.event_id,
          outcome: row.outcome,
          entityType: row.entity_type,
          entityId: row.entity_id,
          revision: row.revision,
          payload: row.payload,
          traceparent: row.traceparent,
        }
      : null,
  }));
}

/** Delivered (or their events are gone): nothing is owed any more. One statement for many rows. */
export async function deleteOwed(
  runner: Queryable,
  destination: string,
  keys: readonly RowKey[],
): Promise<void> {
  if (keys.length === 0) return;
  await runner.query(
    `DELETE FROM destination_events
      WHERE destination = $1
        AND (position, item) IN (SELECT p::bigint, i::integer FROM ROWS FROM (${elements(2)}, ${elements(3)}) AS f(p, i))`,
    [destination, column(keys.map((k) => k.position)), column(keys.map((k) => k.item))],
  );
}

/**
 * Another try in `delayMs`, or `failed` once the row is older than `maxAgeHours` (kept, retryable).
 * Returns the row's state now.
 */
export async function retryOwed(
  runner: Queryable,
  destination: string,
  key: RowKey,
  delayMs: number,
  maxAgeHours: number,
  error: string,
): Promise<'pending' | 'failed'> {
  const rows = (await runner.query(
    `UPDATE destination_events
        SET attempts = attempts + 1, last_error = $4,
            next_attempt_at = now() + $5 * interval '1 millisecond',
            state = CASE WHEN now() >= created_at + $6 * interval '1 hour' THEN 'failed' ELSE 'pending' END
      WHERE destination = $1 AND position = $2 AND item = $3
      RETURNING state`,
    [destination, key.position, key.item, error, Math.round(delayMs), maxAgeHours],
  )) as [{ state: 'pending' | 'failed' }[], number];
  return rows[0][0]?.state ?? 'pending';
}

/** The failed rows of a destination become pending again, due now; returns how many. */
export async function retryFailed(runner: Queryable, destination: string): Promise<number> {
  const [, count] = (await runner.query(
    `UPDATE destination_events
        SET state = 'pending', attempts = 0, next_attempt_at = now(), created_at = now()
      WHERE destination = $1 AND state = 'failed'`,
    [destination],
  )) as [unknown, number];
  return count;
}
