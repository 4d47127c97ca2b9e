/**
 * Positions in JSON text that JSON.parse does not report: where each item of an array starts and
 * ends, and the exact text of a top-level member's value. Only run on text JSON.parse accepted,
 * so the scanner needs to follow strings and nesting, nothing else. Its primitives (strings,
 * whitespace) also serve the signature's look at bytes not yet verified (space-hint.ts).
 */

export interface Span {
  start: number;
  end: number;
}

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;

export function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The first position at or after `from` that is not JSON whitespace. */
export function skipSpace(text: Buffer, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

/**
 * The position of the quote closing the string opened at `open`, or -1 when the text ends first.
 * Jumps from quote to quote (indexOf) and counts the backslashes before each: long strings cost little.
 */
export function stringEnd(text: Buffer, open: number): number {
  for (let quote = text.indexOf(QUOTE, open + 1); quote !== -1; quote = text.indexOf(QUOTE, quote + 1)) {
    let backslashes = 0;
    while (text[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}

/** The index just past the string that starts (with its quote) at `at`. */
function skipString(text: Buffer, at: number): number {
  const end = stringEnd(text, at);
  return end === -1 ? text.length : end + 1;
}

/** The span of the value that starts at or after `at`, up to the next comma or closing bracket at its level. */
function valueSpan(text: Buffer, at: number): Span {
  let start = at;
  while (start < text.length && isSpace(text[start])) start++;
  let depth = 0;
  let i = start;
  for (; i < text.length; i++) {
    const byte = text[i];
    if (byte === QUOTE) i = skipString(text, i) - 1;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) depth++;
    else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      if (depth === 0) break;
      depth--;
    } else if (byte === COMMA && depth === 0) break;
  }
  let end = i;
  while (end > start && isSpace(text[end - 1])) end--;
  return { start, end };
}

/** The spans of the items of the array that `span` covers (valid JSON text of an array). */
export function arrayItemSpans(text: Buffer, span: Span = trimmedSpan(text)): Span[] {
  const spans: Span[] = [];
  let at = span.start + 1; // past '['
  while (at < span.end) {
    while (at < span.end && isSpace(text[at])) at++;
    if (text[at] === CLOSE_BRACKET) break;
    const item = valueSpan(text, at);
    spans.push(item);
    at = item.end;
    while (at < span.end && text[at] !== COMMA && text[at] !== CLOSE_BRACKET) at++;
    at++; // past ',' (or the closing ']')
  }
  return spans;
}

/**
 * The exact text of the value of top-level member `key` of the object `span` covers; the last one
 * when the key repeats, as JSON.parse decides. Only plain keys (no escapes) are looked for.
 */
export function memberText(text: Buffer, span: Span, key: string): string | null {
  const wanted = Buffer.from(`"${key}"`, 'utf8');
  let found: Span | null = null;
  let at = span.start + 1; // past '{'
  while (at < span.end) {
    while (at < span.end && (isSpace(text[at]) || text[at] === COMMA)) at++;
    if (text[at] !== QUOTE) break;
    const keyEnd = skipString(text, at);
    const isWanted = keyEnd - at === wanted.length && text.subarray(at, keyEnd).equals(wanted);
    let colon = keyEnd;
    while (colon < span.end && text[colon] !== COLON) colon++;
    const value = valueSpan(text, colon + 1);
    if (isWanted) found = value;
    at = value.end;
  }
  return found ? text.toString('utf8', found.start, found.end) : null;
}

/** The span of the whole text without surrounding whitespace. */
export function trimmedSpan(text: Buffer): Span {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return { start, end };
}
