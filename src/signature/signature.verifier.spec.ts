import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretRing } from './secret-ring';
import { sign } from './signature.verifier';

interface Vector {
  secret: string;
  body?: string;
  file?: string;
  signature: string;
  note?: string;
}

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const vectors = JSON.parse(readFileSync(join(FIXTURES, 'signatures.json'), 'utf8')) as Vector[];
const bytesOf = (vector: Vector): Buffer =>
  vector.file !== undefined
    ? readFileSync(join(FIXTURES, vector.file))
    : Buffer.from(vector.body ?? '', 'utf8');

const isNonAscii = (text: string) => Buffer.byteLength(text, 'utf8') !== text.length;

const SECRET = 'fixture-secret-0123456789abcdef';
const SECOND = 'rotated-secret-abcdefghijklmnop';
const BODY = Buffer.from('{"eventId":"e-1","name":"message.sent"}', 'utf8');
const digest = (body: Buffer, secret: string) => createHmac('sha1', secret).update(body).digest();

/** The verification of secrets valid for any space (WEBHOOK_SECRETS), as a yes or no. */
const verifierOf = (secrets: string[]) => {
  const ring = SecretRing.of(secrets);
  return { verify: (body: Buffer, header: string | string[] | undefined) => ring.verify(body, header).ok };
};

describe('signature verification (hex HMAC-SHA1 of the raw body)', () => {
  it('has the vectors the acceptance list names (RFC 2202 case 2, a non-ASCII body, fixture files)', () => {
    expect(vectors.some((v) => v.secret === 'Jefe' && v.body === 'what do ya want for nothing?')).toBe(true);
    expect(vectors.some((v) => v.body !== undefined && isNonAscii(v.body))).toBe(true);
    expect(vectors.filter((v) => v.file !== undefined).length).toBeGreaterThanOrEqual(10);
  });

  describe.each(vectors.map((v) => [v.note ?? v.file ?? v.body ?? '', v] as const))(
    'vector %s',
    (_, vector) => {
      const body = bytesOf(vector);

      it('accepts its lower-case hex signature', () => {
        expect(verifierOf([vector.secret]).verify(body, vector.signature)).toBe(true);
      });

      it('accepts its upper-case hex signature', () => {
        expect(verifierOf([vector.secret]).verify(body, vector.signature.toUpperCase())).toBe(true);
      });

      it('signs to the same signature', () => {
        expect(sign(body, vector.secret)).toBe(vector.signature);
      });

      it('rejects the signature under another secret', () => {
        expect(verifierOf([`${vector.secret}-other-secret`]).verify(body, vector.signature)).toBe(false);
      });

      it('rejects the signature when one byte of the body changes', () => {
        const changed = Buffer.from(body);
        changed[changed.length - 1] ^= 0x01;
        expect(verifierOf([vector.secret]).verify(changed, vector.signature)).toBe(false);
      });
    },
  );

  it('signs the bytes of a non-ASCII body, not its characters', () => {
    const vector = vectors.find((v) => v.body !== undefined && isNonAscii(v.body));
    const latin1 = Buffer.from(vector!.body!, 'latin1');
    expect(verifierOf([vector!.secret]).verify(latin1, vector!.signature)).toBe(false);
  });

  describe('rejects', () => {
    const verifier = verifierOf([SECRET]);
    const good = digest(BODY, SECRET).toString('hex');

    it.each([
      ['a missing header', undefined],
      ['an empty header', ''],
      ['non-hex characters', 'z'.repeat(40)],
      ['a hex digest with one non-hex character', `${good.slice(0, 39)}g`],
      ['a truncated digest (39 hex digits)', good.slice(0, 39)],
      ['a digest one digit too long', `${good}0`],
      ['a digest twice as long', `${good}${good}`],
      ['the base64 of the right digest', digest(BODY, SECRET).toString('base64')],
      ['a sha1= prefixed digest', `sha1=${good}`],
      ['the digest under a wrong secret', digest(BODY, 'wrong-secret-0123456789').toString('hex')],
      ['the HMAC-SHA256 of the body', createHmac('sha256', SECRET).update(BODY).digest('hex')],
    ])('%s', (_, header) => {
      expect(verifier.verify(BODY, header)).toBe(false);
    });

    it('a header given as an array, even of valid signatures', () => {
      expect(verifier.verify(BODY, [good])).toBe(false);
      expect(verifier.verify(BODY, [good, good])).toBe(false);
    });

    it('a valid signature for another body', () => {
      expect(verifier.verify(Buffer.from('{}'), good)).toBe(false);
    });
  });

  it('accepts the right digest in mixed case', () => {
    const good = digest(BODY, SECRET).toString('hex');
    const mixed = [...good].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    expect(verifierOf([SECRET]).verify(BODY, mixed)).toBe(true);
  });

  describe('with several secrets (rotation)', () => {
    const verifier = verifierOf([SECRET, SECOND]);

    it('accepts a body signed with the second secret', () => {
      expect(verifier.verify(BODY, digest(BODY, SECOND).toString('hex'))).toBe(true);
    });

    it('accepts a body signed with the first secret', () => {
      expect(verifier.verify(BODY, digest(BODY, SECRET).toString('hex'))).toBe(true);
    });

    it('rejects a body signed with neither', () => {
      expect(verifier.verify(BODY, digest(BODY, 'third-secret-0123456789').toString('hex'))).toBe(false);
    });
  });

  it('refuses to be built without secrets', () => {
    expect(() => verifierOf([])).toThrow(/no secret/);
  });
});
