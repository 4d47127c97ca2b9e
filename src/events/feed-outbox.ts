import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { jsonArray, jsonColumn } from './json-column';

export interface OutboxEntry {
  position: string;
  eventIds: string[];
  replay: boolean;
}

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
 * feed_outbox, and nothing else touches it: what the feed still owes, in storage order. EventStore
 * records each batch's new events in the batch's transaction; a replay queues stored events again;
 * the relay reads the oldest entries and deletes them once published; every replica samples it.
 */
@Injectable()
export class FeedOutbox {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records, in the transaction that stored them, which events the feed must publish, in storage
   * order: one row per transaction, its position drawn after the entity locks were taken.
   */
  async record(manager: EntityManager, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await manager.query(`INSERT INTO feed_outbox (event_ids, replay) VALUES (${jsonArray(1, 'text')}, $2)`, [
      jsonColumn(eventIds),
      false,
    ]);
  }

  /**
   * Queues the stored events of a time range (optionally one event name, one API space) for the feed
   * again, marked as replayed, oldest first. The relay publishes them like any other entry, so a
   * replay is as durable as the feed itself; returns how many events were queued. `manager` is the
   * transaction of the action that replays (its audit row commits with it); the data source otherwise.
   */
  async replay(range: ReplayRange, manager: Pick<EntityManager, 'query'> = this.dataSource): Promise<number> {
    const { filters, params } = rangeFilters(range);
    const rows: { events: number }[] = await manager.query(
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
  async countReplayable(range: ReplayRange): Promise<number> {
    const { filters, params } = rangeFilters(range);
    const rows: { events: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS events FROM webhook_events WHERE ${filters.join(' AND ')}`,
      params,
    );
    return rows[0].events;
  }

  /** The oldest entries, in order, as many as fit in `maxEvents` events (at least one entry). */
  async oldest(runner: QueryRunner, maxEvents: number): Promise<OutboxEntry[]> {
    const rows = (await runner.query(
      `SELECT position, array_to_json(event_ids) AS event_ids, replay
         FROM (SELECT position, event_ids, replay, sum(cardinality(event_ids)) OVER (ORDER BY position) AS running
                 FROM (SELECT * FROM feed_outbox ORDER BY position LIMIT $1) AS oldest) AS counted
        WHERE running - cardinality(event_ids) < $1
        ORDER BY position`,
      [maxEvents],
    )) as { position: string; event_ids: string[]; replay: boolean }[];
    return rows.map((row) => ({
      position: row.position,
      eventIds: row.event_ids,
      replay: row.replay,
    }));
  }

  /** Removes entries the feed has published (their confirms came). */
  async remove(runner: QueryRunner, positions: readonly string[]): Promise<void> {
    await runner.query(`DELETE FROM feed_outbox WHERE position = ANY(${jsonArray(1, 'bigint')})`, [
      jsonColumn(positions),
    ]);
  }

  /** How much the feed owes: events waiting, and the age of the oldest entry in seconds (0 when empty). */
  async sample(
    runner: Pick<EntityManager, 'query'> = this.dataSource,
  ): Promise<{ events: number; oldestSeconds: number }> {
    const [row] = await runner.query<{ events: string; oldest: number | null }[]>(
      `SELECT coalesce(sum(cardinality(event_ids)), 0) AS events,
              extract(epoch FROM now() - min(enqueued_at))::float8 AS oldest
         FROM feed_outbox`,
    );
    return {
      events: Number(row.events),
      oldestSeconds: Math.max(0, row.oldest ?? 0),
    };
  }
}

function rangeFilters(range: ReplayRange): { filters: string[]; params: unknown[] } {
  const filters = ['received_at >= $1', 'received_at < $2'];
  const params: unknown[] = [range.since.toISOString(), range.until.toISOString()];
  if (range.name !== undefined) filters.push(`name = $${params.push(range.name)}`);
  if (range.apiSpaceId !== undefined) filters.push(`api_space_id = $${params.push(range.apiSpaceId)}`);
  return { filters, params };
}
