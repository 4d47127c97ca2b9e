/** The quarantine reason of a delivery signed with one API space's secret that names another. */
export const SPACE_MISMATCH_REASON = 'apiSpaceId does not match the secret';

/**
 * Whether every envelope of a verified, parseable delivery names `space` as its apiSpaceId: a
 * space's secret proves only that space's events. An item without apiSpaceId (or not an object)
 * does not. An empty batch names nothing it may not.
 *
 * `apiSpaceIds` is what the intake's one parse read (summarizeDelivery: JSON.parse, the parser the
 * worker stores with, so both read the same apiSpaceId: escaped keys, repeated keys where the last
 * wins), null for an item that names none.
 */
export function namesOnlySpace(apiSpaceIds: Iterable<string | null>, space: string): boolean {
  for (const named of apiSpaceIds) if (named !== space) return false;
  return true;
}

/** Who signed a delivery, as the signature guard found it: `space` null for a secret valid for any space. */
export interface Signer {
  readonly space: string | null;
  /** The secret's fingerprint (keyFingerprint), never the secret. */
  readonly key: string;
}

/**
 * Why a verified, parseable delivery must be quarantined rather than stored: it was signed with one
 * API space's secret and not every envelope names that space. Null otherwise.
 */
export function spaceMismatch(signer: Signer, apiSpaceIds: Iterable<string | null>): string | null {
  return signer.space === null || namesOnlySpace(apiSpaceIds, signer.space) ? null : SPACE_MISMATCH_REASON;
}
