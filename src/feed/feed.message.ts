import type { Options } from 'amqplib';
import { createHash } from 'node:crypto';

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
  /** The trace it was stored with (its delivery's), or null. */
  traceparent: string | null;
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
    routingKey: shortString(`${event.outcome}.${event.name}`),
    content: Buffer.from(event.payload, 'utf8'),
    properties: {
      persistent: true,
      contentType: 'application/json',
      messageId: messageIdOf(event.eventId),
      timestamp: Math.floor(event.receivedAt.getTime() / 1000),
      headers,
    },
  };
}

/** AMQP carries a routing key and a message id as a short string: at most 255 bytes. */
const SHORT_STRING_BYTES = 255;

/**
 * `text` cut to 255 bytes on a character boundary. Storage accepts names and ids up to 512 bytes;
 * one the broker cannot carry must not stop the feed (the relay would retry it forever). A cut
 * routing key still routes by its prefix (`applied.#`, `*.message.#`); x-event-name is whole.
 */
function shortString(text: string, bytes = SHORT_STRING_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= bytes) return text;
  let cut = text.slice(0, bytes);
  while (Buffer.byteLength(cut, 'utf8') > bytes || !cut.isWellFormed()) cut = cut.slice(0, -1);
  return cut;
}

/**
 * The eventId, or for one longer than 255 bytes its start and the SHA-1 of the whole, so that two
 * long ids never share a message_id (consumers deduplicate on it); x-event-id is whole.
 */
function messageIdOf(eventId: string): string {
  if (Buffer.byteLength(eventId, 'utf8') <= SHORT_STRING_BYTES) return eventId;
  const digest = createHash('sha1').update(eventId, 'utf8').digest('hex');
  return `${shortString(eventId, SHORT_STRING_BYTES - digest.length - 1)}~${digest}`;
}
