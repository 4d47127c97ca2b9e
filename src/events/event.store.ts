import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ParsedDelivery } from '../envelope/delivery.parser';
import {
  accountIdOf,
  entityIdOf,
  entityTypeOf,
  revisionOf,
  textOf,
  timestampOf,
  trackedEntityOf,
  type EntityKey,
} from '../envelope/envelope';
import { DatabaseService } from './database.service';
import { decideOutcomes, entityKeyText, type OrderedEvent } from './revision.rules';

/** One delivery as the consumer hands it over: what the api knew of it, the exact bytes, their parse. */
export interface DeliveryToStore {
  deliveryId: string;
  receivedAt: Date;
  body: Buffer;
  parsed: ParsedDelivery;
}

export interface BatchOutcome {
  applied: number;
  stale: number;
  untracked: number;
  /** Events whose eventId was already stored, or repeated within the batch. */
  duplicate: number;
  /** Quarantine rows written (whole deliveries and batch items). */
  quarantined: number;
  /** Event timestamps of the newly stored events, for the storage-lag metric. */
  storedEventTimes: Date[];
}

interface EventRow extends OrderedEvent {
  name: string;
  accountId: number | null;
  apiSpaceId: string | null;
  entityType: string;
  entityId: string | null;
  /** Kept even when the event names no entity (then it orders nothing). */
  revision: number | null;
  etag: string | null;
  eventTimestamp: Date | null;
  payload: string;
  receivedAt: Date;
  deliveryId: string;
}

/**
 * Stores deliveries in PostgreSQL: every distinct eventId once, the revision guard on
 * entity_revisions, malformed parts in quarantined_deliveries; all of a batch in one transaction.
 * Concurrent workers are serialised per entity by transaction-scoped advisory locks, so outcomes are
 * exact and entity_revisions never moves backwards.
 */
@Injectable()
export class EventStore {
  constructor(private readonly database: DatabaseService) {}

  async storeBatch(deliveries: readonly DeliveryToStore[]): Promise<BatchOutcome> {
    const { rows, repeatedInBatch } = toEventRows(deliveries);
    return this.database.dataSource.transaction(async (manager) => {
      const outcome: BatchOutcome = {
        applied: 0,
        stale: 0,
        untracked: 0,
        duplicate: repeatedInBatch,
        quarantined: await insertQuarantine(manager, deliveries),
        storedEventTimes: [],
      };
      if (rows.length === 0) return outcome;

      const stored = await lockAndReadRevisions(manager, rows);
      const { outcomes, winners } = decideOutcomes(rows, stored);
      const inserted = await insertEvents(manager, rows, outcomes);
      await upsertRevisions(manager, [...winners.values()] as EventRow[]);

      for (const row of rows) {
        if (!inserted.has(row.eventId)) {
          outcome.duplicate++;
          continue;
        }
        outcome[outcomes.get(row.eventId)!]++;
        if (row.eventTimestamp) outcome.storedEventTimes.push(row.eventTimestamp);
      }
      return outcome;
    });
  }
}

function toEventRows(deliveries: readonly DeliveryToStore[]): { rows: EventRow[]; repeatedInBatch: number } {
  const rows = new Map<string, EventRow>();
  let repeatedInBatch = 0;
  for (const delivery of deliveries) {
    for (const { envelope } of delivery.parsed.envelopes) {
      if (rows.has(envelope.eventId)) {
        repeatedInBatch++;
        continue;
      }
      rows.set(envelope.eventId, {
        eventId: envelope.eventId,
        tracked: trackedEntityOf(envelope),
        name: envelope.name,
        accountId: accountIdOf(envelope),
        apiSpaceId: textOf(envelope.apiSpaceId),
        entityType: entityTypeOf(envelope.name),
        entityId: entityIdOf(envelope),
        revision: revisionOf(envelope),
        etag: textOf(envelope.etag),
        eventTimestamp: timestampOf(envelope),
        payload: JSON.stringify(envelope),
        receivedAt: delivery.receivedAt,
        deliveryId: delivery.deliveryId,
      });
    }
  }
  return { rows: [...rows.values()], repeatedInBatch };
}

/**
 * One statement per delivery with malformed parts: its bytes travel once, however many of its items
 * are bad (each row still holds the whole delivery, as DESIGN §4 requires; TOAST compresses them).
 */
async function insertQuarantine(
  manager: EntityManager,
  deliveries: readonly DeliveryToStore[],
): Promise<number> {
  let written = 0;
  for (const delivery of deliveries) {
    const { malformed } = delivery.parsed;
    if (malformed.length === 0) continue;
    const rows: unknown[] = await manager.query(
      `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
       SELECT $1::timestamptz, item.reason, $2::bytea, item.item_index, $3
         FROM unnest($4::text[], $5::int[]) AS item(reason, item_index)
       ON CONFLICT (delivery_id, coalesce(item_index, -1)) DO NOTHING
       RETURNING id`,
      [
        delivery.receivedAt.toISOString(),
        delivery.body,
        delivery.deliveryId,
        malformed.map((item) => item.reason),
        malformed.map((item) => item.index),
      ],
    );
    written += rows.length;
  }
  return written;
}

/** Locks every tracked entity of the batch (in a fixed order: no deadlocks) and reads its revision. */
async function lockAndReadRevisions(
  manager: EntityManager,
  rows: readonly EventRow[],
): Promise<Map<string, number>> {
  const keys = new Map<string, EntityKey>();
  for (const row of rows) if (row.tracked) keys.set(entityKeyText(row.tracked.key), row.tracked.key);
  const stored = new Map<string, number>();
  if (keys.size === 0) return stored;

  await manager.query(
    `SELECT pg_advisory_xact_lock(k)
       FROM (SELECT DISTINCT hashtextextended(t, 0) AS k FROM unnest($1::text[]) AS t ORDER BY 1) AS locks`,
    [[...keys.keys()]],
  );
  const list = [...keys.values()];
  const current: { api_space_id: string; entity_type: string; entity_id: string; revision: string }[] =
    await manager.query(
      `SELECT r.api_space_id, r.entity_type, r.entity_id, r.revision
         FROM entity_revisions r
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(api_space_id, entity_type, entity_id)
           USING (api_space_id, entity_type, entity_id)`,
      [list.map((k) => k.apiSpaceId), list.map((k) => k.entityType), list.map((k) => k.entityId)],
    );
  for (const row of current) {
    const key = { apiSpaceId: row.api_space_id, entityType: row.entity_type, entityId: row.entity_id };
    stored.set(entityKeyText(key), Number(row.revision));
  }
  return stored;
}

async function insertEvents(
  manager: EntityManager,
  rows: readonly EventRow[],
  outcomes: ReadonlyMap<string, string>,
): Promise<Set<string>> {
  // A fixed insertion order: two transactions inserting the same new ids cannot deadlock on them.
  const sorted = [...rows].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const column = <T>(pick: (row: EventRow) => T) => sorted.map(pick);
  const inserted: { event_id: string }[] = await manager.query(
    `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision, etag,
                                 event_timestamp, outcome, payload, received_at, delivery_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                          $8::text[], $9::timestamptz[], $10::text[], $11::jsonb[], $12::timestamptz[], $13::text[])
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      column((r) => r.eventId),
      column((r) => r.name),
      column((r) => r.accountId),
      column((r) => r.apiSpaceId),
      column((r) => r.entityType),
      column((r) => r.entityId),
      column((r) => r.revision),
      column((r) => r.etag),
      column((r) => r.eventTimestamp?.toISOString() ?? null),
      column((r) => outcomes.get(r.eventId)),
      column((r) => r.payload),
      column((r) => r.receivedAt.toISOString()),
      column((r) => r.deliveryId),
    ],
  );
  return new Set(inserted.map((row) => row.event_id));
}

async function upsertRevisions(manager: EntityManager, winners: readonly EventRow[]): Promise<void> {
  if (winners.length === 0) return;
  await manager.query(
    `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name, event_timestamp)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[])
     ON CONFLICT (api_space_id, entity_type, entity_id) DO UPDATE
        SET revision = EXCLUDED.revision, event_id = EXCLUDED.event_id, event_name = EXCLUDED.event_name,
            event_timestamp = EXCLUDED.event_timestamp, updated_at = now()
      WHERE entity_revisions.revision < EXCLUDED.revision`,
    [
      winners.map((w) => w.tracked!.key.apiSpaceId),
      winners.map((w) => w.tracked!.key.entityType),
      winners.map((w) => w.tracked!.key.entityId),
      winners.map((w) => w.tracked!.revision),
      winners.map((w) => w.eventId),
      winners.map((w) => w.name),
      winners.map((w) => w.eventTimestamp?.toISOString() ?? null),
    ],
  );
}
