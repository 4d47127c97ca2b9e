import type { SpanContext } from '@opentelemetry/api';

/** W3C trace context, version 00: version-traceid-spanid-flags, lower-case hex. */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

/** The header that carries a trace across the broker (DESIGN §14): the W3C name, as HTTP uses it. */
export const TRACEPARENT_HEADER = 'traceparent';

/**
 * A traceparent header as AMQP gives it back (a string, or bytes when sent as such), or undefined
 * when absent or not well-formed: a message published by hand must not carry junk into storage.
 */
export function traceparentOf(header: unknown): string | undefined {
  const text = Buffer.isBuffer(header) ? header.toString('latin1') : header;
  return typeof text === 'string' && TRACEPARENT.test(text) ? text : undefined;
}

/**
 * The traceparent of a span context, written directly: the delivery and feed messages carry W3C
 * `traceparent` by contract (DESIGN §14), whatever propagators OTEL_PROPAGATORS names for HTTP.
 */
export function formatTraceparent({ traceId, spanId, traceFlags }: SpanContext): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The remote span context a well-formed traceparent names (stored ones were checked by
 * traceparentOf), read by position; the SDK treats one with all-zero ids as no parent.
 */
export function spanContextOfTraceparent(traceparent: string): SpanContext {
  return {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: parseInt(traceparent.slice(53, 55), 16),
    isRemote: true,
  };
}
