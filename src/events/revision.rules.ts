import type { EntityKey } from '../envelope/envelope';
import type { EventOutcome } from './entities/webhook-event.entity';

export interface OrderedEvent {
  eventId: string;
  tracked: { key: EntityKey; revision: number } | null;
}

export function entityKeyText(key: EntityKey): string {
  return JSON.stringify([key.apiSpaceId, key.entityType, key.entityId]);
}

/**
 * The revision guard, applied to events in arrival order as if one by one: an event is `applied`
 * when its revision is strictly higher than every revision stored or seen before it for its entity,
 * else `stale`; events with no entity or no integer revision are `untracked`.
 * Returns each event's outcome and, per entity, the event that becomes its latest state.
 */
export function decideOutcomes(
  events: readonly OrderedEvent[],
  storedRevisions: ReadonlyMap<string, number>,
): { outcomes: Map<string, EventOutcome>; winners: Map<string, OrderedEvent> } {
  const outcomes = new Map<string, EventOutcome>();
  const winners = new Map<string, OrderedEvent>();
  const highest = new Map(storedRevisions);
  for (const event of events) {
    if (!event.tracked) {
      outcomes.set(event.eventId, 'untracked');
      continue;
    }
    const key = entityKeyText(event.tracked.key);
    const current = highest.get(key);
    if (current === undefined || event.tracked.revision > current) {
      highest.set(key, event.tracked.revision);
      winners.set(key, event);
      outcomes.set(event.eventId, 'applied');
    } else {
      outcomes.set(event.eventId, 'stale');
    }
  }
  return { outcomes, winners };
}
