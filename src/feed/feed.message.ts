import type { Options } from 'amqplib';

/** A stored event as the relay reads it back (webhook_events, payload as jsonb text). */
export interface StoredEvent {
  eventId: string;
  name: string;
  outcome: string;
  entityType: string;
  entityId: string | null;
  /** Exact decimal text of the bigint. */
  revision: string | null;
  apiSpaceId: string | null;
  deliveryId: string;
  receivedAt: Date;
  payload: string;
}

export interface FeedMessage {
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

/**
 * The downstream contract (docs/architecture.md, "The feed"): routing key `<outcome>.<name>`, the
 * envelope as stored, `message_id` = eventId, and the headers consumers filter on. A revision is
 * a number when JavaScript can hold it exactly, else its exact decimal text.
 */
export function feedMessageOf(event: StoredEvent, replayed: boolean): FeedMessage {
  const headers: Record<string, unknown> = {
    'x-event-id': event.eventId,
    'x-event-name': event.name,
    'x-outcome': event.outcome,
    'x-entity-type': event.entityType,
    'x-delivery-id': event.deliveryId,
    'x-received-at': event.receivedAt.toISOString(),
  };
  if (event.entityId !== null) headers['x-entity-id'] = event.entityId;
  if (event.revision !== null) {
    const revision = Number(event.revision);
    headers['x-revision'] = Number.isSafeInteger(revision) ? revision : event.revision;
  }
  if (event.apiSpaceId !== null) headers['x-api-space-id'] = event.apiSpaceId;
  if (replayed) headers['x-replayed'] = true;
  return {
    routingKey: `${event.outcome}.${event.name}`,
    content: Buffer.from(event.payload, 'utf8'),
    properties: {
      persistent: true,
      contentType: 'application/json',
      messageId: event.eventId,
      timestamp: Math.floor(event.receivedAt.getTime() / 1000),
      headers,
    },
  };
}
