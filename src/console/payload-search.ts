import { badParameter, noNul } from '../admin/http/query-params';

export interface PayloadMatch {
  /** The jsonb path inside the stored envelope, e.g. ['metadata', 'orderId']. */
  path: string[];
  value: string;
}

export interface Window {
  since: Date;
  until: Date;
}

export const DEFAULT_WINDOW_DAYS = 7;
export const MAX_WINDOW_DAYS = 31;
const DAY = 86_400_000;
const SEGMENT = /^[A-Za-z0-9_$@-]{1,200}$/;

/**
 * `path=value` on the stored envelope: `payload.metadata.orderId=10442`, `apiSpaceId=…`. Compared
 * as text, as `#>>` reads it.
 */
export function parsePayloadSearch(text: string | undefined): PayloadMatch | null {
  const trimmed = text?.trim() ?? '';
  if (trimmed === '') return null;
  const equals = trimmed.indexOf('=');
  if (equals <= 0) throw badParameter('search', 'write path=value, e.g. payload.metadata.orderId=10442');
  const path = trimmed.slice(0, equals).trim().split('.');
  if (path.length > 12 || !path.every((segment) => SEGMENT.test(segment))) {
    throw badParameter(
      'search',
      'the path is names joined by dots (letters, digits, _ $ @ -), at most 12, e.g. payload.metadata.orderId',
    );
  }
  const value = trimmed.slice(equals + 1).trim();
  if (value === '' || value.length > 512 || !noNul(value)) {
    throw badParameter(
      'search',
      'the value must be 1 to 512 characters, e.g. payload.metadata.orderId=10442',
    );
  }
  return { path, value };
}

/** An ISO 8601 instant, or a browser's datetime-local value (read as UTC). */
function instant(name: string, text: string | undefined): Date | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text.trim())
    ? `${text.trim()}Z`
    : text.trim();
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime()))
    throw badParameter(name, 'must be a date and time, e.g. 2026-11-20T09:00 (UTC)');
  return date;
}

/** The time window of a search: default the last 7 days, at most 31. */
export function windowOf(
  sinceText: string | undefined,
  untilText: string | undefined,
  now = new Date(),
): Window {
  const until = instant('until', untilText) ?? now;
  const since = instant('since', sinceText) ?? new Date(until.getTime() - DEFAULT_WINDOW_DAYS * DAY);
  if (since >= until) throw badParameter('since', 'must be before until');
  if (until.getTime() - since.getTime() > MAX_WINDOW_DAYS * DAY)
    throw badParameter('since', `the window is at most ${MAX_WINDOW_DAYS} days; narrow since or until`);
  return { since, until };
}
