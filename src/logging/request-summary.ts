import type { IncomingHttpHeaders } from 'node:http';

/**
 * What a request line shows of a request: an allow-list of headers, so nothing else a client sends
 * reaches the logs. The signature is only marked as present, never shown.
 */
export function requestSummary(req: { method?: string; url?: string; headers: IncomingHttpHeaders }) {
  return {
    method: req.method,
    url: req.url,
    headers: {
      'content-type': req.headers['content-type'],
      'content-length': req.headers['content-length'],
      'user-agent': req.headers['user-agent'],
      ...(req.headers['x-comapi-signature'] === undefined ? {} : { 'x-comapi-signature': '[redacted]' }),
    },
  };
}

/** 5xx are errors, other refusals warnings, the rest info. */
export function levelForStatus(status: number): 'error' | 'warn' | 'info' {
  if (status >= 500) return 'error';
  return status >= 400 ? 'warn' : 'info';
}
