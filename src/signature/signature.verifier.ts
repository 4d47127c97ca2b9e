import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-comapi-signature';

/** HMAC-SHA1 digests are 20 bytes: 40 hex digits. */
const HEX_SIGNATURE = /^[0-9a-fA-F]{40}$/;

/**
 * Verifies Dotdigital's `X-Comapi-Signature`: lower- or upper-case hex HMAC-SHA1 of the exact raw
 * body bytes, under any of the configured secrets (several are active during a rotation).
 * Pure: no I/O, no state beyond the secrets.
 */
export class SignatureVerifier {
  private readonly secrets: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new Error('SignatureVerifier needs at least one secret');
    this.secrets = secrets.map((secret) => Buffer.from(secret, 'utf8'));
  }

  verify(body: Buffer, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string') return false;
    const candidate = header.trim();
    if (!HEX_SIGNATURE.test(candidate)) return false;
    const given = Buffer.from(candidate, 'hex');
    // Every secret is tried (no early exit), so timing does not reveal which one matched.
    let matched = false;
    for (const secret of this.secrets) {
      const expected = createHmac('sha1', secret).update(body).digest();
      matched = timingSafeEqual(expected, given) || matched;
    }
    return matched;
  }

  static sign(body: Buffer | string, secret: string): string {
    return createHmac('sha1', secret).update(body).digest('hex');
  }
}
