/**
 * A Dotdigital Omnichannel webhook envelope. Only `eventId` and `name` are required for it to be
 * well-formed; every other field is optional and kept exactly as sent.
 */
export interface Envelope {
  eventId: string;
  name: string;
  accountId?: unknown;
  apiSpaceId?: unknown;
  payload?: unknown;
  revision?: unknown;
  etag?: unknown;
  timestamp?: unknown;
  [field: string]: unknown;
}

export interface EntityKey {
  apiSpaceId: string;
  entityType: string;
  entityId: string;
}

/** The part of the event name before the first dot: `message.read` → `message`. */
export function entityTypeOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(0, dot);
}

/**
 * DESIGN §1's one entity-id rule: `payload.messageId`, else `payload.id`, else none.
 * Numbers are accepted and read as text (ids are text columns).
 */
export function entityIdOf(envelope: Envelope): string | null {
  const payload = envelope.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const record = payload as Record<string, unknown>;
  return asId(record.messageId) ?? asId(record.id);
}

function asId(value: unknown): string | null {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** A revision orders events only when it is an integer that fits PostgreSQL's bigint. */
export function revisionOf(envelope: Envelope): number | null {
  return asBigint(envelope.revision);
}

export function accountIdOf(envelope: Envelope): number | null {
  return asBigint(envelope.accountId);
}

function asBigint(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

export function textOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** ISO 8601 (or any date string JavaScript reads) → Date; anything else → null. */
export function timestampOf(envelope: Envelope): Date | null {
  if (typeof envelope.timestamp !== 'string') return null;
  const time = Date.parse(envelope.timestamp);
  return Number.isNaN(time) ? null : new Date(time);
}

/** The entity an event moves forward, or null when it cannot be ordered (`untracked`). */
export function trackedEntityOf(envelope: Envelope): { key: EntityKey; revision: number } | null {
  const entityId = entityIdOf(envelope);
  const revision = revisionOf(envelope);
  if (entityId === null || revision === null) return null;
  return {
    key: { apiSpaceId: textOf(envelope.apiSpaceId) ?? '', entityType: entityTypeOf(envelope.name), entityId },
    revision,
  };
}
