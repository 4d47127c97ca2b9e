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
