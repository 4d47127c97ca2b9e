/** Limits of one consumer batch: one PostgreSQL transaction, and the memory it needs. */
export interface BatchLimits {
  /** Deliveries per batch (CONSUMER_BATCH_SIZE). */
  deliveries: number;
  /** Events per batch, counted by each delivery's item count; a single larger delivery still goes alone. */
  events: number;
}

export const MAX_EVENTS_PER_BATCH = 1000;

/**
 * Takes the next batch off the front of `buffer` (in place): as many deliveries as both limits
 * allow, at least one. Counting uses the api's item-count header, so nothing is parsed to decide.
 */
export function takeBatch<T>(buffer: T[], itemCount: (item: T) => number, limits: BatchLimits): T[] {
  let taken = 0;
  let events = 0;
  while (taken < buffer.length && taken < limits.deliveries) {
    const items = itemCount(buffer[taken]);
    if (taken > 0 && events + items > limits.events) break;
    events += items;
    taken++;
  }
  return buffer.splice(0, taken);
}
