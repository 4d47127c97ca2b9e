import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { FeedConfig } from '../config/config.slices';
import { FeedOutbox } from './feed-outbox';
import type { ParsedEnvelope } from '../envelope/delivery.parser';
import { DatabaseService } from '../database/database.service';
import { deliveryRecords, type Repeat } from './delivery-record';
import { itemQuarantine, rowsOf, type DeliveryToStore, type EventRow, type QuarantineRow } from './event-row';
import {
  findConflicts,
  insertDeliveries,
  insertEvents,
  insertQuarantine,
  lockAndReadRevisions,
  updateOutcomes,
  upsertRevisions,
} from './event.statements';
import { RevisionGuard, decideOutcomes } from './revision.rules';
import { isTransientDatabaseError } from './transient-error';

export type { DeliveryToStore } from './event-row';

export interface BatchOutcome {
  applied: number;
  stale: number;
  untracked: number;
  /** Events whose eventId was already stored, or repeated within the batch. */
  duplicate: number;
  /** Repeats whose content differs from what was stored first (the first stays). */
  conflicts: string[];
  /** Quarantine rows written, by kind: whole deliveries (itemIndex null) and items. */
  quarantined: QuarantineRow[];
  /** The newly stored events, in storage order. */
  stored: EventRow[];
}

/**
 * Stores deliveries in PostgreSQL: every distinct eventId once, the revision guard on
 * entity_revisions, what cannot be stored in quarantined_deliveries, and what the feed must publish
 * in feed_outbox, all of a batch in one transaction.
 */
@Injectable()
export class EventStore {
  private readonly logger = new Logger('EventStore');

  constructor(
    private readonly database: DatabaseService,
    private readonly feed: FeedConfig,
    private readonly outbox: FeedOutbox,
  ) {}

  /** One transaction for the whole batch; any failure rolls all of it back (the caller decides what next). */
  storeBatch(deliveries: readonly DeliveryToStore[]): Promise<BatchOutcome> {
    const { events, quarantine, repeats } = planOf(deliveries);
    return this.database.dataSource.transaction(async (manager) => {
      const outcome = emptyOutcome(repeats);
      outcome.quarantined = await insertQuarantine(manager, quarantine);
      if (events.length === 0) {
        await insertDeliveries(manager, deliveryRecords(deliveries, [], repeats.rows, outcome.quarantined));
        return outcome;
      }
      const storedRevisions = await lockAndReadRevisions(manager, events);
      let { outcomes, winners } = decideOutcomes(events, storedRevisions);
      const inserted = await insertEvents(manager, events, outcomes);
      // Outcomes were decided as if every event were new. A repeated eventId that was decided
      // `applied` (its content differs from the stored event's: a higher revision) must not count:
      // decide again over the inserted events alone and correct the rows whose outcome changes.
      if (events.some((row) => !inserted.has(row.eventId) && outcomes.get(row.eventId) === 'applied')) {
        const first = outcomes;
        ({ outcomes, winners } = decideOutcomes(
          events.filter((row) => inserted.has(row.eventId)),
          storedRevisions,
        ));
        await updateOutcomes(
          manager,
          [...outcomes].filter(([eventId, outcome]) => first.get(eventId) !== outcome),
        );
      }
      await upsertRevisions(manager, [...winners.values()] as EventRow[]);
      for (const row of events) {
        if (inserted.has(row.eventId)) {
          outcome[outcomes.get(row.eventId)!]++;
          outcome.stored.push(row);
        } else outcome.duplicate++;
      }
      const repeated = events.filter((row) => !inserted.has(row.eventId));
      outcome.conflicts.push(...(await findConflicts(manager, repeated)));
      await insertDeliveries(
        manager,
        deliveryRecords(deliveries, outcome.stored, [...repeats.rows, ...repeated], outcome.quarantined),
      );
      await this.recordForFeed(manager, outcome.stored);
      return outcome;
    });
  }

  /**
   * The same for one delivery whose batch failed for a lasting reason, event by event under
   * savepoints: what the database refuses is kept in quarantine with its reason, the rest is stored.
   * Rejects only when even that fails (the caller dead-letters the delivery) or on a transient error.
   */
  storeEventByEvent(delivery: DeliveryToStore): Promise<BatchOutcome> {
    const { events, quarantine, repeats } = planOf([delivery]);
    const itemOf = new Map<string, ParsedEnvelope>();
    for (const item of delivery.parsed.envelopes)
      if (!itemOf.has(item.envelope.eventId)) itemOf.set(item.envelope.eventId, item);
    const refused: { eventIndex: number | null; reason: string }[] = [];
    const stored = this.database.dataSource.transaction(async (manager) => {
      const outcome = emptyOutcome(repeats);
      const guard = new RevisionGuard(await lockAndReadRevisions(manager, events));
      for (const row of events) {
        const result = guard.outcomeOf(row);
        await manager.query('SAVEPOINT event');
        try {
          const inserted = await insertEvents(manager, [row], new Map([[row.eventId, result]]));
          if (inserted.size > 0 && result === 'applied') await upsertRevisions(manager, [row]);
          await manager.query('RELEASE SAVEPOINT event');
          if (inserted.size === 0) {
            outcome.duplicate++;
            repeats.rows.push(row);
            outcome.conflicts.push(...(await findConflicts(manager, [row])));
            continue;
          }
          guard.accept(row, result);
          outcome[result]++;
          outcome.stored.push(row);
        } catch (err) {
          if (isTransientDatabaseError(err)) throw err;
          await manager.query('ROLLBACK TO SAVEPOINT event');
          const reason = `storage failed: ${(err as Error).message}`;
          refused.push({ eventIndex: row.itemIndex, reason });
          quarantine.push({ ...itemQuarantine(delivery, itemOf.get(row.eventId)!, row.itemIndex), reason });
        }
      }
      outcome.quarantined = await insertQuarantine(manager, quarantine);
      await insertDeliveries(
        manager,
        deliveryRecords([delivery], outcome.stored, repeats.rows, outcome.quarantined),
      );
      await this.recordForFeed(manager, outcome.stored);
      return outcome;
    });
    // Said only once the quarantine rows are committed: when this transaction fails, nothing was
    // kept (the delivery is tried again, or dead-lettered) and such a line would be false.
    return stored.then((outcome) => {
      for (const { eventIndex, reason } of refused) {
        this.logger.warn({
          msg: 'event kept in quarantine',
          deliveryId: delivery.deliveryId,
          eventIndex,
          reason,
        });
      }
      return outcome;
    });
  }

  private async recordForFeed(manager: EntityManager, stored: readonly EventRow[]): Promise<void> {
    if (this.feed.outbox) {
      await this.outbox.record(
        manager,
        stored.map((row) => row.eventId),
      );
    }
  }
}

/**
 * The batch's rows in arrival order, the first of each eventId only (a repeat inside the batch is
 * counted, and kept for the delivery record unless its delivery came earlier in the batch too).
 */
function planOf(deliveries: readonly DeliveryToStore[]) {
  const events = new Map<string, EventRow>();
  const quarantine: QuarantineRow[] = [];
  const repeats = { count: 0, conflicts: [] as string[], rows: [] as Repeat[] };
  const seen = new Set<string>();
  for (const delivery of deliveries) {
    const rows = rowsOf(delivery);
    const again = seen.has(delivery.deliveryId);
    seen.add(delivery.deliveryId);
    quarantine.push(...rows.quarantine);
    for (const row of rows.events) {
      const first = events.get(row.eventId);
      if (!first) events.set(row.eventId, row);
      else {
        repeats.count++;
        if (!again) repeats.rows.push(row);
        if (first.payload !== row.payload) repeats.conflicts.push(row.eventId);
      }
    }
  }
  return { events: [...events.values()], quarantine, repeats };
}

function emptyOutcome(repeats: { count: number; conflicts: string[] }): BatchOutcome {
  return {
    applied: 0,
    stale: 0,
    untracked: 0,
    duplicate: repeats.count,
    conflicts: [...repeats.conflicts],
    quarantined: [],
    stored: [],
  };
}
