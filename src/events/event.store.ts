import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { FeedConfig } from '../config/config.slices';
import type { ParsedEnvelope } from '../envelope/delivery.parser';
import { DatabaseService } from './database.service';
import { itemQuarantine, rowsOf, type DeliveryToStore, type EventRow, type QuarantineRow } from './event-row';
import {
  findConflicts,
  insertEvents,
  insertOutbox,
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
  ) {}

  /** One transaction for the whole batch; any failure rolls all of it back (the caller decides what next). */
  storeBatch(deliveries: readonly DeliveryToStore[]): Promise<BatchOutcome> {
    const { events, quarantine, repeats } = planOf(deliveries);
    return this.database.dataSource.transaction(async (manager) => {
      const outcome = emptyOutcome(repeats);
      outcome.quarantined = await insertQuarantine(manager, quarantine);
      if (events.length === 0) return outcome;
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
      outcome.conflicts.push(
        ...(await findConflicts(
          manager,
          events.filter((row) => !inserted.has(row.eventId)),
        )),
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
    return this.database.dataSource.transaction(async (manager) => {
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
          this.logger.warn({
            msg: 'event kept in quarantine',
            deliveryId: delivery.deliveryId,
            eventIndex: row.itemIndex,
            reason,
          });
          quarantine.push({ ...itemQuarantine(delivery, itemOf.get(row.eventId)!, row.itemIndex), reason });
        }
      }
      outcome.quarantined = await insertQuarantine(manager, quarantine);
      await this.recordForFeed(manager, outcome.stored);
      return outcome;
    });
  }

  private async recordForFeed(manager: EntityManager, stored: readonly EventRow[]): Promise<void> {
    if (this.feed.outbox)
      await insertOutbox(
        manager,
        stored.map((row) => row.eventId),
      );
  }
}

/** The batch's rows in arrival order, the first of each eventId only (a repeat inside the batch is counted). */
function planOf(deliveries: readonly DeliveryToStore[]) {
  const events = new Map<string, EventRow>();
  const quarantine: QuarantineRow[] = [];
  const repeats = { count: 0, conflicts: [] as string[] };
  for (const delivery of deliveries) {
    const rows = rowsOf(delivery);
    quarantine.push(...rows.quarantine);
    for (const row of rows.events) {
      const first = events.get(row.eventId);
      if (!first) events.set(row.eventId, row);
      else {
        repeats.count++;
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
