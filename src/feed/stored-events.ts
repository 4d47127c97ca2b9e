import type { QueryRunner } from 'typeorm';
import { jsonArray, jsonColumn } from '../events/json-column';
import type { StoredEvent } from './feed.message';

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
