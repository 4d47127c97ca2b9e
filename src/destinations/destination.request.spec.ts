import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Destination } from './destinations-file';
import { failureOf, requestHeaders, resultOf, retryAfterMs, type OwedEvent } from './destination.request';

const secrets = [randomBytes(24), randomBytes(32)];

const destination: Destination = {
  name: 'crm',
  url: 'https://crm.example/hooks',
  keys: secrets,
  filter: ['#'],
  ordering: 'entity',
  timeoutMs: 10_000,
  maxInFlight: 16,
  maxAgeHours: 72,
  headers: { 'X-Tenant': 'acme' },
};

const event: OwedEvent = {
  eventId: 'ev-1',
  outcome: 'applied',
  entityType: 'message',
  entityId: 'm-1',
  revision: '3',
  payload: '{"eventId":"ev-1","name":"message.read","payload":{"id":"m-1"}}',
  traceparent: null,
};

describe('requestHeaders', () => {
  it('signs with every secret, each verifiable alone by the reference library', () => {
    const headers = requestHeaders(destination, event);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const key of secrets) {
      const verified = new Webhook(key.toString('base64')).verify(event.payload, headers);
      expect(verified).toEqual(JSON.parse(event.payload));
    }
  });

  it('carries the feed headers and the static ones; no entity id or revision when null', () => {
    const headers = requestHeaders(destination, event, 1_700_000_000_500);
    expect(headers).toMatchObject({
      'X-Tenant': 'acme',
      'content-type': 'application/json',
      'webhook-id': 'ev-1',
      'webhook-timestamp': '1700000000',
      'x-outcome': 'applied',
      'x-entity-type': 'message',
      'x-entity-id': 'm-1',
      'x-revision': '3',
    });
    const bare = requestHeaders(destination, { ...event, entityId: null, revision: null });
    expect(bare).not.toHaveProperty('x-entity-id');
    expect(bare).not.toHaveProperty('x-revision');
  });
});

describe('resultOf', () => {
  it('reads each kind of answer', () => {
    expect(resultOf(204, null)).toEqual({ kind: 'delivered', status: 204 });
    expect(resultOf(410, null)).toEqual({ kind: 'gone', status: 410 });
    expect(resultOf(503, '2')).toEqual({ kind: 'throttled', status: 503, retryAfterMs: 2000 });
    expect(resultOf(429, null)).toEqual({ kind: 'throttled', status: 429, retryAfterMs: null });
    expect(resultOf(302, null)).toMatchObject({
      kind: 'failed',
      error: 'HTTP 302 (redirects are not followed)',
    });
    expect(resultOf(500, '5')).toMatchObject({ kind: 'failed', status: 500 });
  });

  it('reads Retry-After as seconds or a date, at most an hour', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('86400', now)).toBe(3_600_000);
    expect(retryAfterMs('soon', now)).toBeNull();
  });

  it('names a timeout and a connection error', () => {
    const aborted = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    expect(failureOf(aborted, 500, true)).toEqual({
      kind: 'failed',
      status: null,
      error: 'no answer within 500 ms',
      timeout: true,
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(failureOf(refused, 500, false)).toMatchObject({
      error: 'request failed: ECONNREFUSED',
      timeout: false,
    });
  });
});
