import type { QueryRunner } from 'typeorm';
import { jsonArray, jsonColumn } from '../events/json-column';
import type { StoredEvent } from './feed.message';

export interface OutboxEntry {
  position: string;
  eventIds: string[];
  replay: boolean;
}

/** The oldest entries, in order, as many as fit in `maxEvents` events (at least one entry). */
export async function readOutbox(runner: QueryRunner, maxEvents: number): Promise<OutboxEntry[]> {
  const rows = (await runner.query(
    `SELECT position, array_to_json(event_ids) AS event_ids, replay
       FROM (SELECT position, event_ids, replay, sum(cardinality(event_ids)) OVER (ORDER BY position) AS running
               FROM (SELECT * FROM feed_outbox ORDER BY position LIMIT $1) AS oldest) AS counted
      WHERE running - cardinality(event_ids) < $1
      ORDER BY position`,
    [maxEvents],
  )) as { position: string; event_ids: string[]; replay: boolean }[];
  return rows.map((row) => ({ position: row.position, eventIds: row.event_ids, replay: row.replay }));
}

interface EventRow {
  event_id: string;
  name: string;
  outcome: string;
  entity_type: string;
  entity_id: string | null;
  revision: string | null;
  api_space_id: string | null;
  delivery_id: string;
  received_at: Date;
  payload: string;
  traceparent: string | null;
}

/** The stored events of these ids; an id removed meanwhile (retention) is simply absent. */
export async function readEvents(
  runner: QueryRunner,
  eventIds: readonly string[],
): Promise<Map<string, StoredEvent>> {
  const rows = (await runner.query(
    `SELECT event_id, name, outcome, entity_type, entity_id, revision::text AS revision, api_space_id,
            delivery_id, received_at, payload::text AS payload, traceparent
       FROM webhook_events WHERE event_id = ANY(${jsonArray(1, 'text')})`,
    [jsonColumn(eventIds)],
  )) as EventRow[];
  return new Map(
    rows.map((row) => [
      row.event_id,
      {
        eventId: row.event_id,
        name: row.name,
        outcome: row.outcome,
        entityType: row.entity_type,
        entityId: row.entity_id,
        revision: row.revision,
        apiSpaceId: row.api_space_id,
        deliveryId: row.delivery_id,
        receivedAt: row.received_at,
        payload: row.payload,
        traceparent: row.traceparent,
      },
    ]),
  );
}

export async function deleteOutbox(runner: QueryRunner, positions: readonly string[]): Promise<void> {
  await runner.query(`DELETE FROM feed_outbox WHERE position = ANY(${jsonArray(1, 'bigint')})`, [
    jsonColumn(positions),
  ]);
}

/** How much the feed owes: events waiting, and the age of the oldest entry in seconds (0 when empty). */
export async function sampleOutbox(runner: QueryRunner): Promise<{ events: number; oldestSeconds: number }> {
  const [row] = (await runner.query(
    `SELECT coalesce(sum(cardinality(event_ids)), 0) AS events,
            extract(epoch FROM now() - min(enqueued_at))::float8 AS oldest
       FROM feed_outbox`,
  )) as { events: string; oldest: number | null }[];
  return { events: Number(row.events), oldestSeconds: Math.max(0, row.oldest ?? 0) };
}
