import {
  BACKSLASH,
  CLOSE_BRACE as CLOSE_OBJECT,
  CLOSE_BRACKET as CLOSE_ARRAY,
  COLON,
  OPEN_BRACE as OPEN_OBJECT,
  OPEN_BRACKET as OPEN_ARRAY,
  QUOTE,
  skipSpace,
  stringEnd,
} from '../envelope/json-text';

const KEY = Buffer.from('apiSpaceId');

/** Bytes looked at, at most: Dotdigital puts apiSpaceId before the payload, in the first few hundred. */
export const HINT_SCAN_LIMIT = 16 * 1024;

/** Longer values are no API space id (they are UUIDs); not decoding them bounds the work. */
const MAX_SPACE_ID_BYTES = 512;

/**
 * The apiSpaceId of the first envelope, read from the raw bytes before the signature is verified
 * (so without parsing them): the first `"apiSpaceId": "<string>"` member of an envelope, that is of
 * the top-level object, or of an object directly inside the top-level array. Members of payloads and
 * other nested values are skipped however early they come, and so is anything inside a string
 * (escaped quotes included). Looks at `limit` bytes at most.
 *
 * Only a hint: it decides which secrets are tried first. A wrong or missing hint costs time, never a
 * wrong verdict, because every secret is tried before a 401 and the envelopes' spaces are checked on
 * the parsed body afterwards.
 */
export function apiSpaceIdHint(body: Buffer, limit = HINT_SCAN_LIMIT): string | null {
  const view = body.length > limit ? body.subarray(0, limit) : body;
  let depth = 0;
  // 1 when the body is an object (one envelope), 2 when it is an array (a batch); 0 until known.
  let envelopeDepth = 0;
  // Whether the container open at envelopeDepth is an object, whose members are an envelope's.
  let inEnvelope = false;
  for (let i = 0; i < view.length; i++) {
    const byte = view[i];
    if (byte === QUOTE) {
      const close = stringEnd(view, i);
      if (close === -1) return null;
      if (inEnvelope && depth === envelopeDepth && isKey(view, i, close)) {
        const value = stringValueAfter(view, close + 1);
        if (value !== undefined) return value;
      }
      i = close;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (envelopeDepth === 0) envelopeDepth = byte === OPEN_OBJECT ? 1 : 2;
      if (depth === envelopeDepth) inEnvelope = byte === OPEN_OBJECT;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth--;
  }
  return null;
}

function isKey(view: Buffer, open: number, close: number): boolean {
  if (close - open - 1 !== KEY.length) return false;
  // A loop over ten bytes: cheaper than a call into Buffer.compare for every short string.
  for (let i = 0; i < KEY.length; i++) if (view[open + 1 + i] !== KEY[i]) return false;
  return true;
}

/**
 * After a `"apiSpaceId"` string at `from`: the string value of `: "…"`, or undefined when the string
 * was not a key followed by a string (a value that happens to read apiSpaceId, a number, null).
 */
function stringValueAfter(view: Buffer, from: number): string | null | undefined {
  let i = skipSpace(view, from);
  if (view[i] !== COLON) return undefined;
  i = skipSpace(view, i + 1);
  if (view[i] !== QUOTE) return undefined;
  const close = stringEnd(view, i);
  if (close === -1 || close - i - 1 > MAX_SPACE_ID_BYTES) return null;
  let escaped = false;
  for (let j = i + 1; j < close && !escaped; j++) escaped = view[j] === BACKSLASH;
  if (!escaped) return view.toString('utf8', i + 1, close);
  try {
    // One short string literal with escapes, never the body: JSON's own rules decode it.
    return JSON.parse(view.toString('utf8', i, close + 1)) as string;
  } catch {
    return null;
  }
}
