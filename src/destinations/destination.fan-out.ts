import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { StoredEvent } from '../feed/feed.message';
import { insertOwed, type OwedRow } from './destination.statements';
import { Destinations } from './destinations';
import { filterMatches } from './topic-pattern';
import { WakeSignal } from '../common/wake-signal';

/** Wakes this process's deliverer: the relay committed rows for it, a request ended, an operator acted. */
@Injectable()
export class DestinationSignal extends WakeSignal {}

/** An outbox entry as the relay read it. */
export interface RelayedEntry {
  position: string;
  eventIds: readonly string[];
  replay: boolean;
}

/**
 * The one seam between the feed's outbox and the destinations: in the relay's transaction that
 * deletes the outbox entries, one row per (destination, event) whose filter matches the event's
 * routing key `<outcome>.<name>`. An event committed in PostgreSQL is therefore owed to every
 * matching destination as soon as it leaves the outbox, whatever dies after that commit.
 * A replay (POST /admin/events/replay) is for the feed only: a destination retries its own.
 */
@Injectable()
export class DestinationFanOut {
  constructor(
    private readonly destinations: Destinations,
    private readonly signal: DestinationSignal,
  ) {}

  /** Whether the outbox must be written and relayed for destinations. */
  get configured(): boolean {
    return this.destinations.configured;
  }

  /** Whether a relay round has anything to record (else it needs no transaction). */
  get active(): boolean {
    return this.destinations.all.length > 0;
  }

  /** Records the rows; run inside the transaction that deletes `entries`. Returns how many. */
  async record(
    runner: QueryRunner,
    entries: readonly RelayedEntry[],
    events: ReadonlyMap<string, StoredEvent>,
  ): Promise<number> {
    const destinations = this.destinations.all;
    if (destinations.length === 0) return 0;
    const rows: OwedRow[] = [];
    for (const entry of entries) {
      if (entry.replay) continue;
      entry.eventIds.forEach((eventId, item) => {
        const event = events.get(eventId);
        if (!event) return; // removed by retention before it left the outbox
        const routingKey = `${event.outcome}.${event.name}`;
        const entityKey = event.entityId === null ? null : `${event.entityType}.${event.entityId}`;
        for (const destination of destinations) {
          if (filterMatches(destination.filter, routingKey))
            rows.push({ destination: destination.name, position: entry.position, item, eventId, entityKey });
        }
      });
    }
    await insertOwed(runner, rows);
    return rows.length;
  }

  /** After the relay's commit: this process's deliverer looks at once. */
  committed(): void {
    this.signal.notify();
  }
}
