import type { Db } from './db';
import type { FeedCopy } from './feed-queue';
import { waitFor } from './poll';
import { postWebhook } from './signing';

/** A webhook_events row as the feed must carry it. */
export interface StoredEvent {
  event_id: string;
  name: string;
  outcome: string;
  entity_type: string;
  entity_id: string | null;
  /** Exact decimal text. */
  revision: string | null;
  api_space_id: string | null;
  delivery_id: string;
  received_at: Date;
  payload: unknown;
}

export async function storedEvents(db: Db, where = 'true', params: unknown[] = []): Promise<StoredEvent[]> {
  return db.rows<StoredEvent>(
    `SELECT event_id, name, outcome, entity_type, entity_id, revision::text AS revision, api_space_id,
            delivery_id, received_at, payload
       FROM webhook_events WHERE ${where}`,
    params,
  );
}

/** Events the outbox still owes (sum of its entries' event counts). */
export async function outboxEvents(db: Db): Promise<number> {
  return db.count('SELECT coalesce(sum(cardinality(event_ids)), 0) AS count FROM feed_outbox');
}

/**
 * Waits until the outbox owes nothing. (A copy can reach a consumer before the relay's DELETE of
 * its entry has committed, so "all arrived" does not mean "outbox empty" yet.)
 */
export async function outboxDrained(db: Db, timeoutMs = 15000): Promise<void> {
  await waitFor(async () => (await outboxEvents(db)) === 0, { timeoutMs, what: 'the outbox drained' });
}

/** The headers the feed contract prescribes (docs/architecture.md) for a stored event: absent ones absent. */
export function expectedHeaders(row: StoredEvent, replayed = false): Record<string, unknown> {
  const headers: Record<string, unknown> = {
    'x-event-id': row.event_id,
    'x-event-name': row.name,
    'x-outcome': row.outcome,
    'x-entity-type': row.entity_type,
    'x-delivery-id': row.delivery_id,
    'x-received-at': row.received_at.toISOString(),
  };
  if (row.entity_id !== null) headers['x-entity-id'] = row.entity_id;
  // A signed 64-bit integer on the wire, which amqplib reads as a JavaScript number (exact up to 2^53).
  if (row.revision !== null) headers['x-revision'] = Number(row.revision);
  if (row.api_space_id !== null) headers['x-api-space-id'] = row.api_space_id;
  if (replayed) headers['x-replayed'] = true;
  return headers;
}

const entityKey = (apiSpaceId: unknown, entityType: unknown, entityId: unknown) =>
  JSON.stringify([apiSpaceId ?? '', entityType, entityId]);

/**
 * Walks the feed in arrival order (first copy of each event) and applies the revision rule per
 * entity: an event is `applied` iff its revision is strictly higher than every earlier one of its
 * entity. Returns each event whose stored outcome (and x-outcome) that walk does not reproduce: empty
 * when, for every entity, the feed's order is the storage order. Assumes the entities started empty.
 */
export function revisionWalkMismatches(
  copies: readonly FeedCopy[],
  stored: ReadonlyMap<string, StoredEvent>,
) {
  const highest = new Map<string, bigint>();
  const mismatches: string[] = [];
  for (const copy of copies) {
    const row = stored.get(copy.eventId);
    if (!row) {
      mismatches.push(`${copy.eventId}: on the feed but not stored`);
      continue;
    }
    let expected = 'untracked';
    if (row.entity_id !== null && row.revision !== null) {
      const key = entityKey(row.api_space_id, row.entity_type, row.entity_id);
      const revision = BigInt(row.revision);
      const top = highest.get(key);
      expected = top === undefined || revision > top ? 'applied' : 'stale';
      if (expected === 'applied') highest.set(key, revision);
    }
    if (expected !== row.outcome || copy.headers['x-outcome'] !== row.outcome) {
      mismatches.push(
        `${copy.eventId}: the feed's order makes it ${expected}; stored ${row.outcome}, x-outcome ${String(copy.headers['x-outcome'])}`,
      );
    }
  }
  return mismatches;
}

/**
 * What a downstream consumer that binds `applied.#` and applies each message in arrival order ends
 * with, per entity (key as in entity_revisions): the revision and event id of the last one.
 */
export function appliedState(
  copies: readonly FeedCopy[],
): Map<string, { revision: string; eventId: string }> {
  const state = new Map<string, { revision: string; eventId: string }>();
  for (const copy of copies) {
    if (!copy.routingKey.startsWith('applied.')) continue;
    const h = copy.headers;
    state.set(entityKey(h['x-api-space-id'], h['x-entity-type'], h['x-entity-id']), {
      revision: String(h['x-revision']),
      eventId: copy.eventId,
    });
  }
  return state;
}

/** entity_revisions as the same map. */
export async function storedState(db: Db): Promise<Map<string, { revision: string; eventId: string }>> {
  const rows = await db.rows<{
    api_space_id: string;
    entity_type: string;
    entity_id: string;
    revision: string;
    event_id: string;
  }>(
    'SELECT api_space_id, entity_type, entity_id, revision::text AS revision, event_id FROM entity_revisions',
  );
  return new Map(
    rows.map((row) => [
      entityKey(row.api_space_id, row.entity_type, row.entity_id),
      { revision: row.revision, eventId: row.event_id },
    ]),
  );
}

/** POSTs every body with `concurrency` requests in flight; returns each answer's status, in order. */
export async function postAll(
  url: string,
  bodies: readonly string[],
  concurrency: number,
): Promise<number[]> {
  const statuses: number[] = new Array<number>(bodies.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      try {
        const res = await postWebhook(url, bodies[i]);
        await res.arrayBuffer();
        statuses[i] = res.status;
      } catch {
        statuses[i] = 0;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return statuses;
}

/** A small seeded PRNG (mulberry32), so a shuffled stream can be reproduced from its printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * A stream of `messages` messages with revisions 1..`revisions` each, every event a well-formed
 * envelope, shuffled and cut into batch deliveries of `perDelivery` events (JSON text each).
 */
export function shuffledStream(
  tag: string,
  {
    messages,
    revisions,
    perDelivery,
    seed,
  }: { messages: number; revisions: number; perDelivery: number; seed: number },
) {
  const events: Record<string, unknown>[] = [];
  for (let m = 0; m < messages; m++) {
    for (let revision = 1; revision <= revisions; revision++) {
      events.push({
        eventId: `${tag}-m${m}-r${revision}`,
        accountId: 40213,
        apiSpaceId: 'space-feed',
        name: revision === revisions ? 'message.read' : revision % 2 ? 'message.sent' : 'message.delivered',
        payload: { id: `${tag}-m${m}`, step: revision },
        revision,
        timestamp: new Date(Date.UTC(2026, 10, 20, 9, 0, revision)).toISOString(),
      });
    }
  }
  shuffle(events, seededRandom(seed));
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += perDelivery)
    bodies.push(JSON.stringify(events.slice(i, i + perDelivery)));
  return { eventIds: events.map((event) => event.eventId as string), bodies };
}
