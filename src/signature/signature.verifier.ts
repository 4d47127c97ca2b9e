import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-comapi-signature';

/** HMAC-SHA1 digests are 20 bytes: 40 hex digits. */
const HEX_SIGNATURE = /^[0-9a-fA-F]{40}$/;

/** Why a header cannot be a signature at all, before any secret is tried. */
export type HeaderProblem = 'missing' | 'not_hex';

/**
 * The digest that `X-Comapi-Signature` carries: lower- or upper-case hex HMAC-SHA1. A header sent
 * twice (an array) is not one signature.
 */
export function signatureOf(header: string | string[] | undefined): Buffer | HeaderProblem {
  if (header === undefined) return 'missing';
  if (typeof header !== 'string') return 'not_hex';
  const candidate = header.trim();
  return HEX_SIGNATURE.test(candidate) ? Buffer.from(candidate, 'hex') : 'not_hex';
}

/**
 * Whether `given` is the HMAC-SHA1 of the exact raw `body` under `key`: one constant-time compare,
 * so the time taken says nothing about how many leading bytes of a forgery were right.
 */
export function digestMatches(key: KeyObject | Buffer, body: Buffer, given: Buffer): boolean {
  return timingSafeEqual(createHmac('sha1', key).update(body).digest(), given);
}

/** The hex signature Dotdigital would send for `body` under `secret` (tests, simulator, bench). */
export function sign(body: Buffer | string, secret: string): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}
