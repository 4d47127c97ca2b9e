import { createHmac } from 'node:crypto';
import type { Destination } from './destinations-file';

/** What a destination request carries of a stored event (webhook_events). */
export interface OwedEvent {
  eventId: string;
  outcome: string;
  entityType: string;
  entityId: string | null;
  /** Exact decimal text of the bigint. */
  revision: string | null;
  /** The envelope as stored: the feed's body. */
  payload: string;
  traceparent: string | null;
}

/**
 * The Standard Webhooks signature: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` per key,
 * space-separated, so a receiver that knows any one of the secrets in force verifies (rotation).
 */
export function signatureOf(keys: readonly Buffer[], id: string, timestamp: number, body: string): string {
  const signed = `${id}.${timestamp}.${body}`;
  return keys
    .map((key) => `v1,${createHmac('sha256', key).update(signed, 'utf8').digest('base64')}`)
    .join(' ');
}

/**
 * The headers of one request: the destination's static ones first, then the signature and the
 * feed's headers (the file cannot name those; set last anyway, so they always win). Nothing else
 * of the service (no admin key, no webhook secret) is ever sent.
 */
export function requestHeaders(
  destination: Destination,
  event: OwedEvent,
  now = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = {
    ...destination.headers,
    'content-type': 'application/json',
    'webhook-id': event.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureOf(destination.keys, event.eventId, timestamp, event.payload),
    'x-outcome': event.outcome,
    'x-entity-type': event.entityType,
  };
  if (event.entityId !== null) headers['x-entity-id'] = event.entityId;
  if (event.revision !== null) headers['x-revision'] = event.revision;
  return headers;
}

/** What one answer means for the event and the destination. */
export type AttemptResult =
  | { kind: 'delivered'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'throttled'; status: number; retryAfterMs: number | null }
  | { kind: 'failed'; status: number | null; error: string; timeout: boolean };

/** The longest Retry-After honoured: the back-off's own ceiling. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export function resultOf(status: number, retryAfter: string | null, now = Date.now()): AttemptResult {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status };
  if (status === 429 || status === 503)
    return { kind: 'throttled', status, retryAfterMs: retryAfterMs(retryAfter, now) };
  const error =
    status >= 300 && status < 400 ? `HTTP ${status} (redirects are not followed)` : `HTTP ${status}`;
  return { kind: 'failed', status, error, timeout: false };
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null) return null;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : null;
}

/** A request that got no answer: timed out, refused, reset, a name that did not resolve. */
export function failureOf(err: unknown, timeoutMs: number, timedOut: boolean): AttemptResult {
  const error = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (timedOut || error.name === 'TimeoutError')
    return { kind: 'failed', status: null, error: `no answer within ${timeoutMs} ms`, timeout: true };
  const cause = error.code ?? error.cause?.code ?? error.cause?.message ?? error.message;
  return { kind: 'failed', status: null, error: `request failed: ${cause}`, timeout: false };
}
