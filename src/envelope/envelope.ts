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
 * The one entity-id rule (DESIGN §1): `payload.messageId` (undocumented, accepted first), else
 * `payload.id` (every documented family), else `payload.profileId` (facebook.*), else the top-level
 * `profileId` (presence.*, which has no payload), else none. Numbers are read as text (ids are text
 * columns). The consumer, the storage statements and the admin API all take the entity from here.
 */
export function entityIdOf(envelope: Envelope): string | null {
  const payload = envelope.payload;
  const record =
    typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : {};
  return (
    asId(ownMember(record, 'messageId')) ??
    asId(ownMember(record, 'id')) ??
    asId(ownMember(record, 'profileId')) ??
    asId(ownMember(envelope, 'profileId'))
  );
}

/** Own members only: `{"__proto__": {"id": …}}` must not lend an id through the prototype chain. */
function ownMember(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

function asId(value: unknown): string | null {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;

/**
 * An integer that fits PostgreSQL's bigint, exactly: `value` is what JSON.parse made of the
 * member, `text` its exact JSON text (needed beyond 2^53, where JavaScript numbers lose digits).
 */
export function bigintOf(value: unknown, text: () => string | null): bigint | null {
  if (typeof value !== 'number') return null;
  if (Number.isSafeInteger(value)) return BigInt(value);
  const raw = text();
  if (raw === null || !INTEGER_TEXT.test(raw)) return null;
  const exact = BigInt(raw);
  return exact >= INT64_MIN && exact <= INT64_MAX ? exact : null;
}

export function textOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** ISO 8601 date-time: date, `T`, time with optional fraction, optional `Z` or offset. */
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export interface Timestamp {
  /** The instant, to the millisecond. */
  time: Date;
  /** The same instant as ISO text with every digit of the fraction that was sent (PostgreSQL keeps microseconds). */
  text: string;
}

/**
 * Reads an ISO 8601 timestamp strictly: anything else (a bare number, a date without time, an
 * impossible date, a year outside 0001–9999) is null, never a guess. Without a zone it is UTC.
 */
export function timestampOf(value: unknown): Timestamp | null {
  if (typeof value !== 'string') return null;
  const match = ISO_8601.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s = '00', fraction = '', zone = 'Z'] = match;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  const daysInMonth =
    new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = zone === 'Z' ? 'Z' : normalizeOffset(zone);
  if (offset === null) return null;
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction ? `.${fraction.slice(0, 6)}` : ''}${offset}`;
  const time = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${(fraction + '000').slice(0, 3)}${offset}`);
  return Number.isNaN(time.getTime()) ? null : { time, text };
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** `+01`, `+0100`, `+01:00` → `+01:00`; hours up to 14, minutes up to 59. */
function normalizeOffset(zone: string): string | null {
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 14 || minutes > 59) return null;
  return `${zone[0]}${digits.slice(0, 2)}:${String(minutes).padStart(2, '0')}`;
}

/** The entity an event moves forward, or null when it cannot be ordered (`untracked`). */
export function trackedEntityOf(
  envelope: Envelope,
  revision: bigint | null,
): { key: EntityKey; revision: bigint } | null {
  const entityId = entityIdOf(envelope);
  if (entityId === null || revision === null) return null;
  return { key: entityKeyOf(envelope, entityId), revision };
}

export function entityKeyOf(envelope: Envelope, entityId: string): EntityKey {
  return { apiSpaceId: textOf(envelope.apiSpaceId) ?? '', entityType: entityTypeOf(envelope.name), entityId };
}
