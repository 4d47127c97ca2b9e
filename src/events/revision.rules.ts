import type { EntityKey } from '../envelope/envelope';
import type { EventOutcome } from './entities/webhook-event.entity';

export interface OrderedEvent {
  eventId: string;
  tracked: { key: EntityKey; revision: bigint } | null;
}

export function entityKeyText(key: EntityKey): string {
  return JSON.stringify([key.apiSpaceId, key.entityType, key.entityId]);
}

/**
 * The revision guard, applied to events one by one in arrival order: an event is `applied` when
 * its revision is strictly higher than every revision stored or accepted before it for its entity,
 * else `stale`; events with no entity or no integer revision are `untracked`. Only accepted events
 * count, so a caller that fails to store one simply does not accept it.
 */
export class RevisionGuard {
  private readonly highest: Map<string, bigint>;
  private readonly latest = new Map<string, OrderedEvent>();

  constructor(storedRevisions: ReadonlyMap<string, bigint>) {
    this.highest = new Map(storedRevisions);
  }

  outcomeOf(event: OrderedEvent): EventOutcome {
    if (!event.tracked) return 'untracked';
    const current = this.highest.get(entityKeyText(event.tracked.key));
    return current === undefined || event.tracked.revision > current ? 'applied' : 'stale';
  }

  /** Records `event` as stored with `outcome`; an applied event becomes its entity's latest state. */
  accept(event: OrderedEvent, outcome: EventOutcome): void {
    if (outcome !== 'applied' || !event.tracked) return;
    const key = entityKeyText(event.tracked.key);
    this.highest.set(key, event.tracked.revision);
    this.latest.set(key, event);
  }

  /** Per entity, the accepted event that is now its latest state. */
  winners(): Map<string, OrderedEvent> {
    return this.latest;
  }
}

/** The guard over a whole batch at once: each event's outcome and, per entity, the winner. */
export function decideOutcomes(
  events: readonly OrderedEvent[],
  storedRevisions: ReadonlyMap<string, bigint>,
): { outcomes: Map<string, EventOutcome>; winners: Map<string, OrderedEvent> } {
  const guard = new RevisionGuard(storedRevisions);
  const outcomes = new Map<string, EventOutcome>();
  for (const event of events) {
    const outcome = guard.outcomeOf(event);
    guard.accept(event, outcome);
    outcomes.set(event.eventId, outcome);
  }
  return { outcomes, winners: guard.winners() };
}
