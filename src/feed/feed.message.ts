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
 * envelope as stored, `message_id` = eventId, and the headers consumers filter on. Each header has
 * one AMQP type whatever its value (amqplib would pick byte, short, int or long by size, so one
 * header would reach a Java or Python consumer as four types): text, x-revision a signed 64-bit
 * integer (exact, from its decimal text), x-replayed a boolean.
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
  if (event.revision !== null) headers['x-revision'] = revisionHeader(event.revision);
  if (event.apiSpaceId !== null) headers['x-api-space-id'] = event.apiSpaceId;
  if (replayed) headers['x-replayed'] = true;
  // The trace it was stored with travels on; a traced relay replaces it with its publish span's.
  if (event.traceparent !== null) headers.traceparent = event.traceparent;
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

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `l` (signed 64-bit) for every revision that fits, which is every bigint column value; text beyond. */
export function revisionHeader(revision: string): { '!': 'long'; value: string } | string {
  const value = /^-?\d+$/.test(revision) ? BigInt(revision) : null;
  return value !== null && value >= INT64_MIN && value <= INT64_MAX
    ? { '!': 'long', value: value.toString() }
    : revision;
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
