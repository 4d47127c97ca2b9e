import type { EntityManager } from 'typeorm';
import type { EntityKey } from '../envelope/envelope';
import type { DeliveryRecord } from './delivery-record';
import type { EventRow, QuarantineRow } from './event-row';
import type { EventOutcome } from './entities/webhook-event.entity';
import { jsonColumn as column, jsonElements as elements, jsonTextColumn } from './json-column';
import { entityKeyText } from './revision.rules';

/*
 * The statements of the storage path, hand-written where they earn it: one round trip per table
 * per batch (a column of values per parameter, json-column.ts), conflict handling and advisory
 * locks that the ORM does not express. Column names and types are those of the migrations, which
 * the entities mirror (a test keeps the two equal).
 */

/** Quarantine rows; a redelivered delivery adds none (unique per delivery and item). */
export async function insertQuarantine(
  manager: EntityManager,
  rows: readonly QuarantineRow[],
): Promise<QuarantineRow[]> {
  if (rows.length === 0) return [];
  const written: { item_index: number | null; delivery_id: string }[] = await manager.query(
    `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bytea[], $4::int[], $5::text[])
     ON CONFLICT (delivery_id, coalesce(item_index, -1)) DO NOTHING
     RETURNING item_index, delivery_id`,
    [
      rows.map((row) => row.receivedAt.toISOString()),
      rows.map((row) => row.reason),
      rows.map((row) => row.body),
      rows.map((row) => row.itemIndex),
      rows.map((row) => row.deliveryId),
    ],
  );
  const key = (deliveryId: string, itemIndex: number | null) => `${deliveryId}\u0001${itemIndex ?? ''}`;
  // A key written once, even when the batch held the same delivery twice (a redelivery).
  const kept = new Set(written.map((row) => key(row.delivery_id, row.item_index)));
  return rows.filter((row) => kept.delete(key(row.deliveryId, row.itemIndex)));
}

/**
 * Locks every entity the rows name (tracked or not, in a fixed order: no deadlocks) until the
 * transaction ends, then reads the stored revisions. Two workers storing events of one entity are
 * serialised here, which keeps outcomes exact and the feed's order per entity equal to storage order.
 */
export async function lockAndReadRevisions(
  manager: EntityManager,
  rows: readonly EventRow[],
): Promise<Map<string, bigint>> {
  const keys = new Map<string, EntityKey>();
  for (const row of rows) {
    if (row.entityId === null) continue;
    const key = row.tracked?.key ?? {
      apiSpaceId: row.apiSpaceId ?? '',
      entityType: row.entityType,
      entityId: row.entityId,
    };
    keys.set(entityKeyText(key), key);
  }
  const stored = new Map<string, bigint>();
  if (keys.size === 0) return stored;
  await manager.query(
    `SELECT pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT hashtextextended(t, 0) AS k FROM ${elements(1)} AS t ORDER BY 1) AS locks`,
    [column([...keys.keys()])],
  );
  const list = [...keys.values()];
  const current: { api_space_id: string; entity_type: string; entity_id: string; revision: string }[] =
    await manager.query(
      `SELECT r.api_space_id, r.entity_type, r.entity_id, r.revision
         FROM entity_revisions r
         JOIN ROWS FROM (${elements(1)}, ${elements(2)}, ${elements(3)}) AS k(api_space_id, entity_type, entity_id)
           USING (api_space_id, entity_type, entity_id)`,
      [
        column(list.map((k) => k.apiSpaceId)),
        column(list.map((k) => k.entityType)),
        column(list.map((k) => k.entityId)),
      ],
    );
  for (const row of current) {
    const key = { apiSpaceId: row.api_space_id, entityType: row.entity_type, entityId: row.entity_id };
    stored.set(entityKeyText(key), BigInt(row.revision));
  }
  return stored;
}

/** Inserts the events whose eventId is new; returns the ids that were inserted. */
export async function insertEvents(
  manager: EntityManager,
  rows: readonly EventRow[],
  outcomes: ReadonlyMap<string, EventOutcome>,
): Promise<Set<string>> {
  // A fixed insertion order: two transactions inserting the same new ids cannot deadlock on them.
  const sorted =
    rows.length > 1
      ? [...rows].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0))
      : rows;
  const of = (pick: (row: EventRow) => unknown) => column(sorted.map(pick));
  const inserted: { event_id: string }[] = await manager.query(
    `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision, etag,
                                 event_timestamp, outcome, payload, received_at, delivery_id, traceparent)
     SELECT event_id, name, account_id::bigint, api_space_id, entity_type, entity_id, revision::bigint, etag,
            event_timestamp::timestamptz, outcome, payload, received_at::timestamptz, delivery_id, traceparent
       FROM ROWS FROM (${elements(1)}, ${elements(2)}, ${elements(3)}, ${elements(4)}, ${elements(5)},
                       ${elements(6)}, ${elements(7)}, ${elements(8)}, ${elements(9)}, ${elements(10)},
                       jsonb_array_elements($11::jsonb), ${elements(12)}, ${elements(13)}, ${elements(14)})
            AS t(event_id, name, account_id, api_space_id, entity_type, entity_id, revision, etag,
                 event_timestamp, outcome, payload, received_at, delivery_id, traceparent)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      of((r) => r.eventId),
      of((r) => r.name),
      of((r) => r.accountId),
      of((r) => r.apiSpaceId),
      of((r) => r.entityType),
      of((r) => r.entityId),
      of((r) => r.revision),
      of((r) => r.etag),
      of((r) => r.eventTimestamp),
      of((r) => outcomes.get(r.eventId)),
      jsonTextColumn(sorted.map((r) => r.payload)),
      of((r) => r.receivedAt),
      of((r) => r.deliveryId),
      // Untraced (tracing off): one NULL for the column; ROWS FROM pads it with NULL for every row.
      sorted.some((r) => r.traceparent !== null) ? of((r) => r.traceparent) : null,
    ],
  );
  return new Set(inserted.map((row) => row.event_id));
}

/** Corrects the outcome of stored events (eventId → outcome). */
export async function updateOutcomes(
  manager: EntityManager,
  changes: readonly [string, EventOutcome][],
): Promise<void> {
  if (changes.length === 0) return;
  await manager.query(
    `UPDATE webhook_events e SET outcome = t.outcome
       FROM ROWS FROM (${elements(1)}, ${elements(2)}) AS t(event_id, outcome)
      WHERE e.event_id = t.event_id`,
    [column(changes.map(([eventId]) => eventId)), column(changes.map(([, outcome]) => outcome))],
  );
}

/** The latest state per entity, moved only by a strictly higher revision. */
export async function upsertRevisions(manager: EntityManager, winners: readonly EventRow[]): Promise<void> {
  if (winners.length === 0) return;
  await manager.query(
    `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name, event_timestamp)
     SELECT api_space_id, entity_type, entity_id, revision::bigint, event_id, event_name, event_timestamp::timestamptz
       FROM ROWS FROM (${elements(1)}, ${elements(2)}, ${elements(3)}, ${elements(4)}, ${elements(5)},
                       ${elements(6)}, ${elements(7)})
            AS t(api_space_id, entity_type, entity_id, revision, event_id, event_name, event_timestamp)
     ON CONFLICT (api_space_id, entity_type, entity_id) DO UPDATE
        SET revision = EXCLUDED.revision, event_id = EXCLUDED.event_id, event_name = EXCLUDED.event_name,
            event_timestamp = EXCLUDED.event_timestamp, updated_at = now()
      WHERE entity_revisions.revision < EXCLUDED.revision`,
    [
      column(winners.map((w) => w.tracked!.key.apiSpaceId)),
      column(winners.map((w) => w.tracked!.key.entityType)),
      column(winners.map((w) => w.tracked!.key.entityId)),
      column(winners.map((w) => w.revision)),
      column(winners.map((w) => w.eventId)),
      column(winners.map((w) => w.name)),
      column(winners.map((w) => w.eventTimestamp)),
    ],
  );
}

/** Of rows that were not inserted (their eventId was stored before), those whose content differs. */
export async function findConflicts(manager: EntityManager, rows: readonly EventRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const found: { event_id: string }[] = await manager.query(
    `SELECT e.event_id FROM webhook_events e
       JOIN ROWS FROM (${elements(1)}, jsonb_array_elements($2::jsonb)) AS t(event_id, payload) USING (event_id)
      WHERE e.payload <> t.payload`,
    [column(rows.map((row) => row.eventId)), jsonTextColumn(rows.map((row) => row.payload))],
  );
  return found.map((row) => row.event_id);
}

/**
 * The batch's delivery records, one statement. A redelivered delivery keeps its first record (what
 * its first storage did); the repeat it now is changes nothing there.
 */
export async function insertDeliveries(
  manager: EntityManager,
  records: readonly DeliveryRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const of = (pick: (record: DeliveryRecord) => unknown) => column(records.map(pick));
  await manager.query(
    `INSERT INTO webhook_deliveries (delivery_id, received_at, events, repeats, quarantined, repeat_event_ids,
                                     key_id, api_space_id)
     SELECT delivery_id, received_at::timestamptz, events::int, repeats::int, quarantined::int,
            CASE WHEN repeat_ids IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(repeat_ids::json)) END,
            key_id, api_space_id
       FROM ROWS FROM (${elements(1)}, ${elements(2)}, ${elements(3)}, ${elements(4)}, ${elements(5)},
                       ${elements(6)}, ${elements(7)}, ${elements(8)})
            AS t(delivery_id, received_at, events, repeats, quarantined, repeat_ids, key_id, api_space_id)
     ON CONFLICT (delivery_id) DO NOTHING`,
    [
      of((r) => r.deliveryId),
      of((r) => r.receivedAt),
      of((r) => r.events),
      of((r) => r.repeats),
      of((r) => r.quarantined),
      // Arrays go as their JSON text, unpacked above (a column of ragged arrays has no SQL array type).
      of((r) => (r.repeatEventIds === null ? null : JSON.stringify(r.repeatEventIds))),
      of((r) => r.keyId),
      of((r) => r.apiSpaceId),
    ],
  );
}
