import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/**
 * What a request line shows of a request: the path without its query string (a sender may put a
 * token there), and an allow-list of headers, so nothing else a client sends reaches the logs. The
 * signature is only marked as present, never shown.
 */
export function requestSummary(req: { method?: string; url?: string; headers: IncomingHttpHeaders }) {
  return {
    method: req.method,
    url: pathOf(req.url),
    headers: {
      'content-type': req.headers['content-type'],
      'content-length': req.headers['content-length'],
      'user-agent': req.headers['user-agent'],
      ...(req.headers['x-comapi-signature'] === undefined ? {} : { 'x-comapi-signature': '[redacted]' }),
    },
  };
}

/** The path of a request target: no query string, no fragment, no scheme and host (absolute form). */
export function pathOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const path = url.split(/[?#]/, 1)[0];
  return path.startsWith('/') ? path : path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') || '/';
}

export type RequestLevel = 'error' | 'warn' | 'info';

/**
 * 5xx are errors, except a 503 that carries Retry-After: trouble the client is told will pass (broker
 * away, shutting down), a warning like the other refusals (4xx). The rest is info.
 */
export function levelForStatus(status: number, retryAfter = false): RequestLevel {
  if (status >= 500) return status === 503 && retryAfter ? 'warn' : 'error';
  return status >= 400 ? 'warn' : 'info';
}

export function levelForResponse(res: Pick<ServerResponse, 'statusCode' | 'hasHeader'>): RequestLevel {
  return levelForStatus(res.statusCode, res.hasHeader('retry-after'));
}

/**
 * Why a request was refused, as its answer told the client (`message` of the JSON error body): it
 * goes on the request line, so a 401 says whether the signature was missing or matched no secret.
 * Never holds a secret: the answers never do.
 */
export function reasonOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const message = (body as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.every((item) => typeof item === 'string')) return message.join('; ');
  return undefined;
}

/** Where a handler that answers by itself (RetryLaterFilter) leaves the reason for the request line. */
const REASON = Symbol('refusal reason');

export function noteReason(res: object, reason: string): void {
  (res as { [REASON]?: string })[REASON] = reason;
}

export function notedReason(res: object): string | undefined {
  return (res as { [REASON]?: string })[REASON];
}
