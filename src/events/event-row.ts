import type { ParsedDelivery, ParsedEnvelope } from '../envelope/delivery.parser';
import {
  bigintOf,
  entityIdOf,
  entityTypeOf,
  textOf,
  timestampOf,
  trackedEntityOf,
  type Envelope,
} from '../envelope/envelope';
import { memberText } from '../envelope/json-text';
import type { OrderedEvent } from './revision.rules';

/** One delivery as the consumer hands it over: what the api knew of it, the exact bytes, their parse. */
export interface DeliveryToStore {
  deliveryId: string;
  receivedAt: Date;
  body: Buffer;
  parsed: ParsedDelivery;
  /** Set by the api: keep the whole delivery in quarantine with this reason, store none of it. */
  quarantineReason?: string;
  /** The delivery's trace (W3C traceparent), stored with each of its events for the feed. */
  traceparent?: string;
  /** Who signed it (the secret's fingerprint and space), recorded in webhook_deliveries. */
  signedBy?: { key: string; space?: string };
}

/** A webhook_events row to be, with what the revision guard needs. Texts are sent to PostgreSQL as they are. */
export interface EventRow extends OrderedEvent {
  name: string;
  /** bigint columns travel as exact decimal text. */
  accountId: string | null;
  apiSpaceId: string | null;
  entityType: string;
  entityId: string | null;
  revision: string | null;
  etag: string | null;
  eventTimestamp: string | null;
  eventTime: Date | null;
  /** The envelope's exact JSON text (jsonb keeps every digit of its numbers). */
  payload: string;
  receivedAt: Date;
  deliveryId: string;
  /** Where it came from, for quarantine: null for a single-envelope delivery. */
  itemIndex: number | null;
  /** Its delivery's traceparent; null when untraced. */
  traceparent: string | null;
}

/** A quarantined_deliveries row to be: a whole delivery (itemIndex null) or one item, with its own bytes. */
export interface QuarantineRow {
  deliveryId: string;
  receivedAt: Date;
  reason: string;
  itemIndex: number | null;
  body: Buffer;
}

/**
 * Longest key PostgreSQL is asked to index, in bytes. A btree entry holds at most about 2.7 kB;
 * the entity index carries three such keys. Real ids are UUIDs and e-mail addresses.
 */
export const MAX_KEY_BYTES = 512;

/** The rows of one delivery: its events, and the quarantine rows of whatever cannot be stored. */
export function rowsOf(delivery: DeliveryToStore): { events: EventRow[]; quarantine: QuarantineRow[] } {
  const { parsed, body } = delivery;
  // The api found the delivery must not be stored (e.g. its apiSpaceId is not its signer's): one
  // whole-delivery row with its exact bytes, and no event of it at all.
  if (delivery.quarantineReason !== undefined) {
    const { deliveryId, receivedAt, quarantineReason: reason } = delivery;
    return { events: [], quarantine: [{ deliveryId, receivedAt, reason, itemIndex: null, body }] };
  }
  const quarantine: QuarantineRow[] = parsed.malformed.map((item) => ({
    deliveryId: delivery.deliveryId,
    receivedAt: delivery.receivedAt,
    reason: item.reason,
    itemIndex: item.index,
    body: item.span ? body.subarray(item.span.start, item.span.end) : body,
  }));
  const events: EventRow[] = [];
  for (const item of parsed.envelopes) {
    const itemIndex = parsed.isBatch ? item.index : null;
    const problem = unstorable(item.envelope, body, item);
    if (problem === null) events.push(eventRowOf(delivery, item, itemIndex));
    else {
      quarantine.push({
        ...itemQuarantine(delivery, item, itemIndex),
        reason: `cannot be stored: ${problem}`,
      });
    }
  }
  return { events, quarantine };
}

export function itemQuarantine(
  delivery: DeliveryToStore,
  item: ParsedEnvelope,
  itemIndex: number | null,
): QuarantineRow {
  return {
    deliveryId: delivery.deliveryId,
    receivedAt: delivery.receivedAt,
    reason: '',
    itemIndex,
    body: itemIndex === null ? delivery.body : delivery.body.subarray(item.span.start, item.span.end),
  };
}

function eventRowOf(delivery: DeliveryToStore, item: ParsedEnvelope, itemIndex: number | null): EventRow {
  const { envelope, span } = item;
  const exact = (key: string) => () => memberText(delivery.body, span, key);
  const revision = bigintOf(envelope.revision, exact('revision'));
  const timestamp = timestampOf(envelope.timestamp);
  return {
    eventId: envelope.eventId,
    tracked: trackedEntityOf(envelope, revision),
    name: envelope.name,
    accountId: bigintOf(envelope.accountId, exact('accountId'))?.toString() ?? null,
    apiSpaceId: textOf(envelope.apiSpaceId),
    entityType: entityTypeOf(envelope.name),
    entityId: entityIdOf(envelope),
    revision: revision?.toString() ?? null,
    etag: textOf(envelope.etag),
    eventTimestamp: timestamp?.text ?? null,
    eventTime: timestamp?.time ?? null,
    payload: delivery.body.toString('utf8', span.start, span.end),
    receivedAt: delivery.receivedAt,
    deliveryId: delivery.deliveryId,
    itemIndex,
    traceparent: delivery.traceparent ?? null,
  };
}

/**
 * Why PostgreSQL would refuse this envelope, for the classes known in advance; null when it can be
 * stored. (Anything else the database refuses is caught when storing, item by item.)
 */
function unstorable(envelope: Envelope, body: Buffer, item: ParsedEnvelope): string | null {
  const keys: [string, unknown][] = [
    ['eventId', envelope.eventId],
    ['name', envelope.name],
    ['apiSpaceId', envelope.apiSpaceId],
    ['the entity id', entityIdOf(envelope)],
  ];
  for (const [what, value] of keys) {
    if (typeof value !== 'string') continue;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_KEY_BYTES)
      return `${what} is ${bytes} bytes long, more than the ${MAX_KEY_BYTES} that can be indexed`;
  }
  // NUL and lone surrogates can only arrive as \u escapes; most envelopes have none to look for.
  if (body.indexOf('\\u', item.span.start) !== -1 && body.indexOf('\\u', item.span.start) < item.span.end) {
    const bad = unstorableText(envelope);
    if (bad) return bad;
  }
  return null;
}

/** A NUL character or a lone UTF-16 surrogate anywhere (keys included): text PostgreSQL cannot hold. */
function unstorableText(value: unknown): string | null {
  if (typeof value === 'string') return textProblem(value);
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const problem = (Array.isArray(value) ? null : textProblem(key)) ?? unstorableText(inner);
    if (problem) return problem;
  }
  return null;
}

function textProblem(text: string): string | null {
  if (text.includes('\u0000'))
    return 'it contains a NUL character (\\u0000), which PostgreSQL text cannot hold';
  if (!text.isWellFormed()) return 'it contains a lone UTF-16 surrogate, which is not Unicode text';
  return null;
}
