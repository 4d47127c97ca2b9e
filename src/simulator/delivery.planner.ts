import { entityKeyText, trackedEntityOf, type SimEnvelope } from './envelope.types';
import type { RandomSource } from './random.source';
import type { ResolvedOptions } from './simulation.options';

/** One HTTP delivery as Dotdigital would make it: a single envelope or a batch (JSON array). */
export interface PlannedDelivery {
  /** Position in the plan: deliveries start in this order. */
  index: number;
  apiSpaceId: string;
  batch: boolean;
  events: SimEnvelope[];
  /** How many of `events` were already in an earlier delivery. */
  repeats: number;
}

export type PlanOptions = Pick<ResolvedOptions, 'batchShare' | 'batchSize' | 'repeatShare'>;

interface Draft {
  apiSpaceId: string;
  batch: boolean;
  events: SimEnvelope[];
  repeats: number;
}

/**
 * Turns the workload into deliveries. Dotdigital registers webhooks per API space, so a delivery
 * holds the events of one space. Every entity with two or more revisions is sent out of order, a
 * share of the events is sent again in a later delivery (same envelope, same eventId), and about
 * `batchShare` of the events travel in batches of 1 to `batchSize`.
 */
export function planDeliveries(
  events: readonly SimEnvelope[],
  options: PlanOptions,
  random: RandomSource,
): PlannedDelivery[] {
  const bySpace = groupBy(events, (event) => event.apiSpaceId);
  const lists = [...bySpace.entries()].map(([space, list]) =>
    chunk(space, outOfOrder(random.shuffle(list)), options, random),
  );
  const drafts = interleave(lists, random);
  addRepeats(drafts, events, options, random);
  return drafts.map((draft, index) => ({ index, ...draft }));
}

/** Makes sure no entity's revisions come in ascending order: swaps its first and last if they do. */
export function outOfOrder(order: SimEnvelope[]): SimEnvelope[] {
  const tracked = order.flatMap((event, position) => {
    const entity = trackedEntityOf(event);
    return entity ? [{ position, key: entityKeyText(entity.key) }] : [];
  });
  const positions = groupBy(tracked, (entry) => entry.key);
  for (const entries of positions.values()) {
    const list = entries.map((entry) => entry.position);
    if (list.length < 2) continue;
    const revisions = list.map((position) => order[position].revision ?? 0);
    const ascending = revisions.every((revision, i) => i === 0 || revision >= revisions[i - 1]);
    if (!ascending) continue;
    const [first, last] = [list[0], list[list.length - 1]];
    [order[first], order[last]] = [order[last], order[first]];
  }
  return order;
}

function chunk(
  apiSpaceId: string,
  order: SimEnvelope[],
  options: PlanOptions,
  random: RandomSource,
): Draft[] {
  let batchedLeft = Math.round(order.length * options.batchShare);
  let singlesLeft = order.length - batchedLeft;
  const meanBatch = (1 + options.batchSize) / 2;
  const drafts: Draft[] = [];
  let next = 0;
  while (next < order.length) {
    // Chosen per delivery so that batches and singles run out at about the same time.
    const batchesLeft = batchedLeft / meanBatch;
    const batch =
      batchedLeft > 0 && (singlesLeft === 0 || random.chance(batchesLeft / (batchesLeft + singlesLeft)));
    const size = batch ? Math.min(random.int(1, options.batchSize), batchedLeft) : 1;
    drafts.push({ apiSpaceId, batch, events: order.slice(next, next + size), repeats: 0 });
    next += size;
    if (batch) batchedLeft -= size;
    else singlesLeft -= 1;
  }
  return drafts;
}

/** Merges the spaces' delivery lists at random, keeping each list's own order. */
function interleave(lists: Draft[][], random: RandomSource): Draft[] {
  const cursors = lists.map(() => 0);
  const merged: Draft[] = [];
  let left = lists.reduce((sum, list) => sum + list.length, 0);
  while (left > 0) {
    let roll = random.int(1, left);
    const which = lists.findIndex((list, i) => (roll -= list.length - cursors[i]) <= 0);
    merged.push(lists[which][cursors[which]]);
    cursors[which] += 1;
    left -= 1;
  }
  return merged;
}

/** Sends `repeatShare` of the events again, each in a delivery after the one that first carries it. */
function addRepeats(
  drafts: Draft[],
  events: readonly SimEnvelope[],
  options: PlanOptions,
  random: RandomSource,
) {
  const firstDelivery = new Map<string, number>();
  drafts.forEach((draft, index) => draft.events.forEach((event) => firstDelivery.set(event.eventId, index)));
  // Each space's delivery positions, ascending: the later ones of a space are a suffix.
  const spacePositions = groupBy(
    drafts.map((draft, index) => ({ space: draft.apiSpaceId, index })),
    (entry) => entry.space,
  );
  const repeated = random.shuffle(events).slice(0, Math.round(events.length * options.repeatShare));
  const singlesAfter = new Map<number, Draft[]>();
  for (const event of repeated) {
    const from = firstDelivery.get(event.eventId) ?? 0;
    const positions = spacePositions.get(event.apiSpaceId) ?? [];
    const firstLater = firstIndexAbove(positions, from);
    const hasLater = firstLater < positions.length;
    const target = hasLater
      ? positions[random.int(firstLater, positions.length - 1)].index
      : drafts.length - 1;
    const draft = drafts[target];
    if (hasLater && draft.batch && draft.events.length < options.batchSize) {
      draft.events.splice(random.int(0, draft.events.length), 0, event);
      draft.repeats += 1;
    } else {
      const single: Draft = { apiSpaceId: event.apiSpaceId, batch: false, events: [event], repeats: 1 };
      singlesAfter.set(target, [...(singlesAfter.get(target) ?? []), single]);
    }
  }
  const withSingles = drafts.flatMap((draft, index) => [draft, ...(singlesAfter.get(index) ?? [])]);
  drafts.splice(0, drafts.length, ...withSingles);
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** Binary search: the first entry whose index is greater than `index`. */
function firstIndexAbove(entries: readonly { index: number }[], index: number): number {
  let [low, high] = [0, entries.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (entries[middle].index > index) high = middle;
    else low = middle + 1;
  }
  return low;
}
