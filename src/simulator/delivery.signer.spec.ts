import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deliveryBody, signBody } from './delivery.signer';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const vectors = JSON.parse(readFileSync(join(FIXTURES, 'signatures.json'), 'utf8')) as {
  secret: string;
  body?: string;
  file?: string;
  note?: string;
  signature: string;
}[];

describe('signBody', () => {
  it.each(vectors.map((v) => [v.file ?? v.note ?? v.body, v] as const))(
    'matches the signing vector %s',
    (_name, vector) => {
      const body = vector.file
        ? readFileSync(join(FIXTURES, vector.file))
        : Buffer.from(vector.body!, 'utf8');
      expect(signBody(body, vector.secret)).toBe(vector.signature);
    },
  );

  it('is lower-case hex of 40 digits', () => {
    expect(signBody(Buffer.from('{}'), 'a-secret-of-enough-length')).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('deliveryBody', () => {
  const envelope = {
    eventId: 'e-1',
    accountId: 1,
    apiSpaceId: 's',
    name: 'message.sent',
    payload: { messageId: 'm-1', text: 'Grüße 👋' },
    revision: 1,
    etag: '"1c-x"',
    timestamp: '2026-11-20T09:26:14.801Z',
  };

  it('sends a single as the envelope object and a batch as an array, even of one', () => {
    expect(JSON.parse(deliveryBody({ batch: false, events: [envelope] }).toString())).toEqual(envelope);
    expect(JSON.parse(deliveryBody({ batch: true, events: [envelope] }).toString())).toEqual([envelope]);
  });

  it('is UTF-8 bytes', () => {
    const body = deliveryBody({ batch: false, events: [envelope] });
    expect(body.includes(Buffer.from('Grüße 👋', 'utf8'))).toBe(true);
  });
});
