import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { badParameter } from './query-params';

/** Where a page ended: the last row's sort key (received_at in microseconds, then its id). */
export interface Position {
  receivedAtMicros: string;
  id: string;
}

/**
 * Opaque keyset cursors: the position, signed with a key derived from ADMIN_API_KEYS and the list's
 * name, so a cursor that was altered, or that another list issued, is refused (400) instead of
 * silently paging from somewhere else. Every replica with the same keys reads the others' cursors.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(apiKeys: readonly string[], list: string) {
    this.key = createHash('sha256')
      .update(`admin cursors\n${list}\n${apiKeys.join('\n')}`)
      .digest();
  }

  encode(position: Position): string {
    const payload = Buffer.from(JSON.stringify([position.receivedAtMicros, position.id])).toString(
      'base64url',
    );
    return `${payload}.${this.sign(payload)}`;
  }

  decode(cursor: string | undefined): Position | null {
    if (cursor === undefined) return null;
    const [payload, signature, extra] = cursor.split('.');
    const expected = payload ? this.sign(payload) : '';
    if (
      extra !== undefined ||
      !signature ||
      signature.length !== expected.length ||
      !safeEqual(signature, expected)
    )
      throw invalid();
    try {
      const [receivedAtMicros, id] = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown[];
      if (typeof receivedAtMicros === 'string' && /^-?\d+$/.test(receivedAtMicros) && typeof id === 'string')
        return { receivedAtMicros, id };
    } catch {
      // fall through
    }
    throw invalid();
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
  }
}

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function invalid(): Error {
  return badParameter('cursor', 'not a cursor this service issued (pass nextCursor as it was given)');
}
