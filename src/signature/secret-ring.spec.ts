import { createHash, type KeyObject } from 'node:crypto';
import { SecretRing, keyFingerprint, type Verification } from './secret-ring';
import { sign } from './signature.verifier';
import type { SpacesTable } from './spaces-file';

// The module object itself (not an import-star copy), so spies see the calls secret-ring makes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = require('node:crypto') as typeof import('node:crypto');

const secretOf = (space: string, n: number) => `${space}-secret-${String(n).padStart(12, '0')}`;
const GLOBAL = 'webhook-secrets-env-000000001';
const ANY = 'star-secret-0000000000000001';

/** `count` spaces `space-0…` with two secrets each, plus one `*` secret. */
function tableOf(count: number): SpacesTable {
  const bySpace = new Map<string, string[]>();
  for (let i = 0; i < count; i++)
    bySpace.set(`space-${i}`, [secretOf(`space-${i}`, 1), secretOf(`space-${i}`, 2)]);
  return { anySpace: [ANY], bySpace };
}

const envelopeOf = (space: string) =>
  JSON.stringify({ eventId: `e-${space}`, apiSpaceId: space, name: 'message.sent', payload: {} });

/** The secrets createHmac was keyed with, in order, while `ring` verified; and the compares made. */
function tried(
  ring: SecretRing,
  body: Buffer,
  header: string | string[] | undefined,
): { secrets: string[]; compares: number; verification: Verification } {
  const hmac = jest.spyOn(crypto, 'createHmac');
  const compare = jest.spyOn(crypto, 'timingSafeEqual');
  try {
    const verification = ring.verify(body, header);
    const secrets = hmac.mock.calls.map(([, key]) => (key as KeyObject).export().toString('utf8'));
    return { secrets, compares: compare.mock.calls.length, verification };
  } finally {
    hmac.mockRestore();
    compare.mockRestore();
  }
}

describe(SecretRing.name, () => {
  const ring = SecretRing.of([GLOBAL], tableOf(20));
  const body = Buffer.from(envelopeOf('space-7'));

  it("tries the named space's secrets first: a valid delivery costs one or two HMACs", () => {
    const first = tried(ring, body, sign(body, secretOf('space-7', 1)));
    expect(first.verification).toEqual({
      ok: true,
      space: 'space-7',
      key: keyFingerprint(secretOf('space-7', 1)),
    });
    expect(first.secrets).toEqual([secretOf('space-7', 1)]);
    const second = tried(ring, body, sign(body, secretOf('space-7', 2)));
    expect(second.verification).toMatchObject({ ok: true, space: 'space-7' });
    expect(second.secrets).toEqual([secretOf('space-7', 1), secretOf('space-7', 2)]);
  });

  it('then the secrets valid for any space: "*" of the file, then WEBHOOK_SECRETS', () => {
    const star = tried(ring, body, sign(body, ANY));
    expect(star.verification).toEqual({ ok: true, space: null, key: keyFingerprint(ANY) });
    expect(star.secrets).toEqual([secretOf('space-7', 1), secretOf('space-7', 2), ANY]);
    const env = tried(ring, body, sign(body, GLOBAL));
    expect(env.verification).toEqual({ ok: true, space: null, key: keyFingerprint(GLOBAL) });
    expect(env.secrets).toHaveLength(4);
  });

  it("then every other space's, so another space's secret is recognised, not refused", () => {
    const other = tried(ring, body, sign(body, secretOf('space-12', 2)));
    expect(other.verification).toMatchObject({ ok: true, space: 'space-12' });
    expect(other.secrets.slice(0, 4)).toEqual([secretOf('space-7', 1), secretOf('space-7', 2), ANY, GLOBAL]);
    // The named space is not tried twice.
    expect(other.secrets.filter((s) => s.startsWith('space-7-'))).toHaveLength(2);
  });

  it('makes one HMAC and one constant-time compare per secret for a forgery, each secret once', () => {
    const forged = tried(ring, body, '0'.repeat(40));
    expect(forged.verification).toEqual({ ok: false, problem: 'no_match' });
    expect(forged.compares).toBe(ring.size);
    expect(forged.secrets).toHaveLength(ring.size);
    expect(new Set(forged.secrets).size).toBe(ring.size);
    expect(ring.size).toBe(20 * 2 + 2);
  });

  it('costs the same for a valid delivery of a space with 1, 20 or 200 spaces', () => {
    for (const count of [1, 20, 200]) {
      const big = SecretRing.of([GLOBAL], tableOf(count));
      const own = Buffer.from(envelopeOf('space-0'));
      expect(tried(big, own, sign(own, secretOf('space-0', 2))).compares).toBe(2);
      expect(tried(big, own, sign(own, ANY)).compares).toBe(3);
    }
  });

  it('refuses without any HMAC when the header is missing or not hex', () => {
    expect(tried(ring, body, undefined)).toMatchObject({
      compares: 0,
      verification: { ok: false, problem: 'missing' },
    });
    for (const header of ['', 'xyz', 'a'.repeat(39), ['a'.repeat(40)]]) {
      expect(tried(ring, body, header)).toMatchObject({
        compares: 0,
        verification: { ok: false, problem: 'not_hex' },
      });
    }
  });

  describe('a wrong hint costs time, never the verdict', () => {
    // Reference: with every secret listed once, exactly the signer's entry matches, whatever the order.
    const signers = [
      GLOBAL,
      ANY,
      ...[0, 5, 19].flatMap((i) => [secretOf(`space-${i}`, 1), secretOf(`space-${i}`, 2)]),
    ];
    const expected = (secret: string) => ({
      ok: true,
      space: secret === GLOBAL || secret === ANY ? null : secret.split('-secret-')[0],
      key: keyFingerprint(secret),
    });
    const bodies: [string, string][] = [
      [
        'the signer is another space than the first envelope names',
        `[${envelopeOf('space-5')},${envelopeOf('space-0')}]`,
      ],
      [
        'a nested apiSpaceId before the top-level one',
        JSON.stringify({ payload: { apiSpaceId: 'space-19' }, apiSpaceId: 'space-0' }),
      ],
      ['an escaped key the scan does not read', String.raw`{"api\u0053paceId":"space-0"}`],
      ['no apiSpaceId', '{"eventId":"e-1","name":"x"}'],
      ['an apiSpaceId no entry has', envelopeOf('space-unknown')],
      [
        'the apiSpaceId past the scan limit',
        JSON.stringify({ pad: 'x'.repeat(20000), apiSpaceId: 'space-5' }),
      ],
      ['bytes that are not JSON', '\u0000\u0001 "apiSpaceId" garbage'],
    ];
    it.each(bodies)('%s', (_, text) => {
      const bytes = Buffer.from(text);
      for (const secret of signers) expect(ring.verify(bytes, sign(bytes, secret))).toEqual(expected(secret));
      expect(ring.verify(bytes, sign(bytes, 'not-configured-secret-000'))).toEqual({
        ok: false,
        problem: 'no_match',
      });
    });
  });

  it('accepts upper-case hex and surrounding whitespace in the header, as before', () => {
    expect(ring.verify(body, ` ${sign(body, ANY).toUpperCase()} `).ok).toBe(true);
  });

  it('describes its secrets by fingerprint only', () => {
    const described = JSON.stringify(ring.describe());
    expect(described).not.toContain('secret-0');
    expect(ring.describe()['*']).toEqual([keyFingerprint(ANY), keyFingerprint(GLOBAL)]);
    expect(ring.describe()['space-3']).toEqual([
      keyFingerprint(secretOf('space-3', 1)),
      keyFingerprint(secretOf('space-3', 2)),
    ]);
  });

  it('refuses to exist without a secret', () => {
    expect(() => SecretRing.of([])).toThrow(/no secret/);
  });
});

describe(keyFingerprint.name, () => {
  it.each([GLOBAL, ANY, 'x'.repeat(16), 'ünïcødé-secret-0001', 'abcdef0123456789'])(
    'is the first 8 hex digits of the SHA-256 of %s, never the secret or its digest',
    (secret) => {
      const digest = createHash('sha256').update(secret, 'utf8').digest('hex');
      const key = keyFingerprint(secret);
      expect(key).toMatch(/^[0-9a-f]{8}$/);
      expect(key).toBe(digest.slice(0, 8));
      expect(key).not.toBe(secret);
      expect(key).not.toBe(digest);
      expect(secret).not.toContain(key);
    },
  );
});
