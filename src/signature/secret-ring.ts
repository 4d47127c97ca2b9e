import { createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { apiSpaceIdHint } from './space-hint';
import { digestMatches, signatureOf, type HeaderProblem } from './signature.verifier';
import { ANY_SPACE, type SpacesTable } from './spaces-file';

/** Which secret verified a delivery: `space` null for one valid for any space (`*`, WEBHOOK_SECRETS). */
export interface SecretMatch {
  readonly ok: true;
  readonly space: string | null;
  /** The secret's fingerprint (keyFingerprint). */
  readonly key: string;
}

export type Verification = SecretMatch | { readonly ok: false; readonly problem: HeaderProblem | 'no_match' };

interface Candidate {
  readonly key: KeyObject;
  readonly match: SecretMatch;
}

const NO_MATCH: Verification = Object.freeze({ ok: false, problem: 'no_match' });

/**
 * The first 8 hex digits of the SHA-256 of a secret: names it in metrics and logs so an operator can
 * tell secrets apart, while revealing nothing usable (not the secret, not its full digest).
 */
export function keyFingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
}

/**
 * One immutable set of secrets (a snapshot: reloading builds a new ring and swaps it, so a request
 * in flight finishes with the ring it started with). Verifies a delivery's signature over its raw
 * bytes, trying secrets in the order that finds the usual one first:
 *   1. the secrets of the API space the body names first (a cheap scan of the bytes, space-hint.ts);
 *   2. those valid for any space (`*` of the file, then WEBHOOK_SECRETS);
 *   3. every other space's, so that a delivery signed with one space's secret but naming another is
 *      recognised (and quarantined) rather than refused. Only a forgery, or a body whose first
 *      apiSpaceId is not its signer's, goes this far.
 * Stops at the first match: a valid delivery costs one or two HMACs whatever the number of spaces.
 * The early exit tells a timing observer which position matched, which only someone holding a valid
 * signature can provoke; each comparison itself is constant-time.
 */
export class SecretRing {
  private readonly bySpace: ReadonlyMap<string, readonly Candidate[]>;
  private readonly anySpace: readonly Candidate[];
  /** Every space's candidates, in file order, for step 3. */
  private readonly spaced: readonly Candidate[];

  private constructor(anySpace: readonly string[], table: SpacesTable) {
    this.anySpace = [...table.anySpace, ...anySpace].map((secret) => candidate(secret, null));
    const bySpace = new Map<string, Candidate[]>();
    for (const [space, secrets] of table.bySpace) {
      bySpace.set(
        space,
        secrets.map((secret) => candidate(secret, space)),
      );
    }
    this.bySpace = bySpace;
    this.spaced = [...bySpace.values()].flat();
    if (this.size === 0) throw new Error('no secret at all: every delivery would be refused');
  }

  /** `anySpace`: WEBHOOK_SECRETS; `table`: WEBHOOK_SPACES_FILE, if any (validated by parseSpacesFile). */
  static of(
    anySpace: readonly string[],
    table: SpacesTable = { anySpace: [], bySpace: new Map() },
  ): SecretRing {
    return new SecretRing(anySpace, table);
  }

  get size(): number {
    return this.anySpace.length + this.spaced.length;
  }

  /** The fingerprints of the secrets, by entry (`*` for any space): safe to log. */
  describe(): Record<string, string[]> {
    const keys: Record<string, string[]> = {};
    for (const { match } of [...this.anySpace, ...this.spaced])
      (keys[match.space ?? ANY_SPACE] ??= []).push(match.key);
    return keys;
  }

  verify(body: Buffer, header: string | string[] | undefined): Verification {
    const given = signatureOf(header);
    if (typeof given === 'string') return { ok: false, problem: given };
    // Without space secrets there is nothing to order: no scan at all.
    const hint = this.bySpace.size === 0 ? null : apiSpaceIdHint(body);
    const hinted = hint === null ? undefined : this.bySpace.get(hint);
    return (
      firstMatch(hinted ?? [], body, given) ??
      firstMatch(this.anySpace, body, given) ??
      firstMatch(this.spaced, body, given, hinted === undefined ? undefined : hint!) ??
      NO_MATCH
    );
  }
}

function candidate(secret: string, space: string | null): Candidate {
  return {
    key: createSecretKey(Buffer.from(secret, 'utf8')),
    match: Object.freeze({ ok: true, space, key: keyFingerprint(secret) }),
  };
}

/** One HMAC and one constant-time compare per candidate, skipping the space already tried. */
function firstMatch(
  candidates: readonly Candidate[],
  body: Buffer,
  given: Buffer,
  triedSpace?: string,
): SecretMatch | undefined {
  for (const { key, match } of candidates) {
    if (match.space === triedSpace) continue;
    if (digestMatches(key, body, given)) return match;
  }
  return undefined;
}
