import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminConfig } from '../../config/config.slices';

/** The first 8 hex digits of a secret's SHA-256: names a key in logs and metrics, never reveals it. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
}

/** `operator` keys (ADMIN_API_KEYS) read and act; `read` keys (ADMIN_READ_KEYS) only read. */
export type AdminRole = 'operator' | 'read';

/** Who asked: the key's fingerprint (never the key) and its role. */
export interface AdminActor {
  keyId: string;
  role: AdminRole;
}

/**
 * The configured admin keys. A presented key is compared with every configured one, in constant
 * time over their SHA-256 digests (equal lengths whatever was sent), with no early exit.
 */
export class AdminKeys {
  private readonly digests: { digest: Buffer; role: AdminRole }[];

  constructor(config: Pick<AdminConfig, 'apiKeys' | 'readKeys'>) {
    this.digests = [
      ...config.apiKeys.map((key) => ({ digest: digest(key), role: 'operator' as const })),
      ...config.readKeys.map((key) => ({ digest: digest(key), role: 'read' as const })),
    ];
  }

  /** The actor of the configured key `presented` equals, or null. A key in both lists acts. */
  match(presented: string): AdminActor | null {
    const given = digest(presented);
    let role: AdminRole | null = null;
    for (const expected of this.digests)
      if (timingSafeEqual(expected.digest, given) && role !== 'operator') role = expected.role;
    return role === null ? null : { keyId: fingerprint(presented), role };
  }
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
