import { createHash, timingSafeEqual } from 'node:crypto';

/** The first 8 hex digits of a secret's SHA-256: names a key in logs and metrics, never reveals it. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
}

/**
 * The operations API's bearer keys. A presented key is compared with every configured one, in
 * constant time over their SHA-256 digests (equal lengths whatever was sent), with no early exit.
 */
export class AdminKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** The fingerprint of the configured key `presented` equals, or null. */
  match(presented: string): string | null {
    const given = digest(presented);
    let matched = false;
    for (const expected of this.digests) matched = timingSafeEqual(expected, given) || matched;
    return matched ? fingerprint(presented) : null;
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
