import type { EntityManager } from 'typeorm';

export interface ReplayRange {
  /** On received_at, inclusive. */
  since: Date;
  /** On received_at, exclusive. */
  until: Date;
  name?: string;
  apiSpaceId?: string;
}

/** Events per outbox entry a replay writes (the relay publishes whole entries). */
const EVENTS_PER_ENTRY = 1000;

/**
 * Queues the stored events of a time range (optionally one event name, one API space) for the feed
 * again, marked as replayed, oldest first. The relay publishes them like any other entry, so a
 * replay is as durable as the feed itself; returns how many events were queued. `database` is a
 * DataSource, or a transaction's EntityManager when the replay commits with other writes (its audit row).
 */
export async function replayEvents(
  database: Pick<EntityManager, 'query'>,
  range: ReplayRange,
): Promise<number> {
  const { filters, params } = rangeFilters(range);
  const rows: { events: number }[] = await database.query(
    `INSERT INTO feed_outbox (event_ids, replay)
     SELECT array_agg(event_id ORDER BY received_at, event_id), true
       FROM (SELECT event_id, received_at,
                    (row_number() OVER (ORDER BY received_at, event_id) - 1) / ${EVENTS_PER_ENTRY} AS entry
               FROM webhook_events WHERE ${filters.join(' AND ')}) AS chosen
      GROUP BY entry ORDER BY entry
     RETURNING cardinality(event_ids) AS events`,
    params,
  );
  return rows.reduce((sum, row) => sum + Number(row.events), 0);
}

/** How many stored events a replay of `range` would queue: the plan shown before it is confirmed. */
export async function countReplayable(
  database: Pick<EntityManager, 'query'>,
  range: ReplayRange,
): Promise<number> {
  const { filters, params } = rangeFilters(range);
  const rows: { events: number }[] = await database.query(
    `SELECT count(*)::int AS events FROM webhook_events WHERE ${filters.join(' AND ')}`,
    params,
  );
  return rows[0].events;
}

function rangeFilters(range: ReplayRange): { filters: string[]; params: unknown[] } {
  const filters = ['received_at >= $1', 'received_at < $2'];
  const params: unknown[] = [range.since.toISOString(), range.until.toISOString()];
  if (range.name !== undefined) filters.push(`name = $${params.push(range.name)}`);
  if (range.apiSpaceId !== undefined) filters.push(`api_space_id = $${params.push(range.apiSpaceId)}`);
  return { filters, params };
}
