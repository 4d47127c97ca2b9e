import { dirname, join } from 'node:path';
import { feedMessageOf, revisionHeader, type StoredEvent } from './feed.message';

// amqplib's own field-table encoder, what goes on the wire for a header (not among its exports).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as {
  encodeTable(buffer: Buffer, table: Record<string, unknown>, offset: number): number;
};

/** The AMQP type tag of one header as amqplib encodes it: table size (4), name length (1), name, tag. */
function wireType(name: string, value: unknown): string {
  const buffer = Buffer.alloc(1024);
  codec.encodeTable(buffer, { [name]: value }, 0);
  return String.fromCharCode(buffer[4 + 1 + name.length]);
}

const event = (revision: string | null): StoredEvent => ({
  eventId: 'e-1',
  name: 'message.read',
  outcome: 'applied',
  entityType: 'message',
  entityId: 'm-1',
  revision,
  apiSpaceId: 'space-1',
  deliveryId: 'd-1',
  receivedAt: new Date('2026-11-20T09:00:00Z'),
  payload: '{}',
  traceparent: null,
});

describe('feed headers: one AMQP type per header whatever the value', () => {
  it.each(['-5', '3', '127', '128', '300', '70000', String(2 ** 31), String(2 ** 40), String(2n ** 60n)])(
    'x-revision %s is a signed 64-bit integer (l)',
    (revision) => {
      const header = feedMessageOf(event(revision), false).properties.headers!['x-revision'];
      expect(header).toEqual({ '!': 'long', value: revision });
      expect(wireType('x-revision', header)).toBe('l');
    },
  );

  it('keeps the exact value of a revision beyond 2^53 and at the int64 bounds', () => {
    for (const revision of ['9007199254740993', '9223372036854775807', '-9223372036854775808']) {
      const buffer = Buffer.alloc(64);
      codec.encodeTable(buffer, { r: revisionHeader(revision) }, 0);
      expect(buffer.readBigInt64BE(4 + 1 + 1 + 1).toString()).toBe(revision);
    }
  });

  it('sends a revision beyond int64 as text (S)', () => {
    for (const revision of ['9223372036854775808', '-9223372036854775809', '1' + '0'.repeat(30)]) {
      expect(revisionHeader(revision)).toBe(revision);
      expect(wireType('x-revision', revisionHeader(revision))).toBe('S');
    }
  });

  it('sends every other header as text and x-replayed as a boolean', () => {
    const headers = feedMessageOf(event('3'), true).properties.headers!;
    expect(Object.keys(headers).sort()).toEqual([
      'x-api-space-id',
      'x-delivery-id',
      'x-entity-id',
      'x-entity-type',
      'x-event-id',
      'x-event-name',
      'x-outcome',
      'x-received-at',
      'x-replayed',
      'x-revision',
    ]);
    for (const [name, value] of Object.entries(headers)) {
      expect([name, wireType(name, value)]).toEqual([
        name,
        name === 'x-revision' ? 'l' : name === 'x-replayed' ? 't' : 'S',
      ]);
    }
  });
});

describe('feed headers: the trace', () => {
  it('carries the traceparent the event was stored with, and none when it was stored untraced', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = feedMessageOf({ ...event('1'), traceparent }, false).properties.headers!;
    expect(traced.traceparent).toBe(traceparent);
    expect(wireType('traceparent', traced.traceparent)).toBe('S');
    expect(feedMessageOf(event('1'), false).properties.headers).not.toHaveProperty('traceparent');
  });
});
