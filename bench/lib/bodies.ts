import { createHmac, randomBytes } from 'node:crypto';

export const BENCH_SECRET = 'bench-secret-0123456789abcdef0123456789';

export interface SignedBody {
  body: Buffer;
  signature: string;
  events: number;
}

const NAMES = ['message.sent', 'message.delivered', 'message.read'] as const;

/**
 * Event `k` of a run: every three consecutive events are one message's sent → delivered → read
 * (revisions 1, 2, 3), so the revision guard and entity_revisions do real work. About 700 bytes each,
 * like Dotdigital's examples.
 */
export function envelope(tag: string, k: number): Record<string, unknown> {
  const step = k % 3;
  const messageId = `${tag}-m${Math.floor(k / 3)}`;
  const time = new Date(Date.UTC(2026, 0, 1) + k * 1000).toISOString();
  return {
    eventId: `${tag}-e${k}`,
    accountId: 40213,
    apiSpaceId: '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10',
    name: NAMES[step],
    payload: {
      id: messageId,
      details: {
        channel: 'sms',
        additionalInfo: { to: '447700900123', successful: true, clientRef: `order-${k}` },
        channelStatus: {
          sms: { status: NAMES[step].slice(8), details: { to: '447700900123' }, updatedOn: time },
        },
      },
      metadata: { orderId: String(k), journey: 'dispatch-notice' },
    },
    revision: step + 1,
    etag: `"2c-${k.toString(36)}"`,
    timestamp: time,
  };
}

export function sign(body: Buffer): string {
  return createHmac('sha1', BENCH_SECRET).update(body).digest('hex');
}

export function newTag(prefix = 'b'): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/**
 * `count` signed deliveries of `batchSize` events each, all event ids unique (under `tag`).
 * Batch size 1 is sent as a single envelope object, larger ones as an array (Dotdigital's batch mode).
 */
export function signedBodies(tag: string, batchSize: number, count: number): SignedBody[] {
  const bodies: SignedBody[] = [];
  let k = 0;
  for (let i = 0; i < count; i++) {
    let json: string;
    if (batchSize === 1) json = JSON.stringify(envelope(tag, k++));
    else {
      const items: Record<string, unknown>[] = [];
      for (let j = 0; j < batchSize; j++) items.push(envelope(tag, k++));
      json = JSON.stringify(items);
    }
    const body = Buffer.from(json);
    bodies.push({ body, signature: sign(body), events: batchSize });
  }
  return bodies;
}

/** Entities of events 0..n-1 and the sum of their highest revisions (what entity_revisions must hold). */
export function expectedRevisions(n: number): { entities: number; revisionSum: number } {
  let revisionSum = 0;
  const entities = Math.ceil(n / 3);
  for (let m = 0; m < entities; m++) revisionSum += Math.min(3, n - m * 3);
  return { entities, revisionSum };
}
