import { isUtf8 } from 'node:buffer';
import type { Envelope } from './envelope';
import { arrayItemSpans, trimmedSpan, type Span } from './json-text';

export interface MalformedItem {
  /** Position in the batch; null when the whole delivery is malformed. */
  index: number | null;
  reason: string;
  /** Where the item's own bytes stand in the body; null for the whole delivery. */
  span: Span | null;
}

export interface ParsedEnvelope {
  /** Position in the batch (0 for a single envelope). */
  index: number;
  envelope: Envelope;
  /** Where the envelope's exact text stands in the body. */
  span: Span;
}

export interface ParsedDelivery {
  /** Set when the delivery as a whole cannot be understood (answered 400, kept in quarantine). */
  problem: string | null;
  isBatch: boolean;
  envelopes: ParsedEnvelope[];
  malformed: MalformedItem[];
  /** Items in the delivery: 1 for one envelope, the array's length for a batch, 0 when unreadable. */
  itemCount: number;
}

/** What the api needs to answer: the counts, not the envelopes. */
export interface DeliverySummary {
  problem: string | null;
  itemCount: number;
  wellFormed: number;
  malformed: number;
  /**
   * The apiSpaceId each item names as JSON.parse reads it (escaped keys, the last of repeated keys);
   * null for an item that names none (no string apiSpaceId, not an object, or a body that is not JSON).
   * Empty for an empty batch. Enough for the intake to judge a space's secret without parsing again.
   */
  apiSpaceIds: ReadonlySet<string | null>;
}

/** Why a value is not a well-formed envelope, or null when it is one. */
export function envelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'item is not a JSON object';
  const record = value as Record<string, unknown>;
  if (typeof record.eventId !== 'string' || record.eventId.length === 0)
    return 'eventId is missing or not a non-empty string';
  if (typeof record.name !== 'string' || record.name.length === 0)
    return 'name is missing or not a non-empty string';
  return null;
}

type Read = { value: unknown } | { problem: string };

/**
 * The body as JSON. Bytes that are not UTF-8 are not JSON (RFC 8259): decoding them with
 * replacement characters would let two different signed ids collide, so such a body is refused.
 */
function readJson(body: Buffer): Read {
  if (body.length === 0) return { problem: 'body is empty' };
  if (!isUtf8(body)) return { problem: 'body is not valid UTF-8' };
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return { problem: 'body is not valid JSON' };
  }
}

const NOT_AN_ENVELOPE_OR_ARRAY = 'body must be a JSON object (one envelope) or an array of envelopes';

/** The apiSpaceId an item names, or null when it names none. */
function apiSpaceIdOf(item: unknown): string | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
  const space = (item as { apiSpaceId?: unknown }).apiSpaceId;
  return typeof space === 'string' ? space : null;
}

/** Counts what a delivery holds; the api's answer, without keeping the envelopes. */
export function summarizeDelivery(body: Buffer): DeliverySummary {
  const read = readJson(body);
  if ('problem' in read)
    return { problem: read.problem, itemCount: 0, wellFormed: 0, malformed: 1, apiSpaceIds: new Set([null]) };
  const { value } = read;
  if (Array.isArray(value)) {
    const wellFormed = value.filter((item) => envelopeProblem(item) === null).length;
    return {
      problem: null,
      itemCount: value.length,
      wellFormed,
      malformed: value.length - wellFormed,
      apiSpaceIds: new Set(value.map(apiSpaceIdOf)),
    };
  }
  const apiSpaceIds = new Set([apiSpaceIdOf(value)]);
  if (typeof value !== 'object' || value === null)
    return { problem: NOT_AN_ENVELOPE_OR_ARRAY, itemCount: 0, wellFormed: 0, malformed: 1, apiSpaceIds };
  const reason = envelopeProblem(value);
  if (reason !== null) {
    return {
      problem: `body is not a well-formed envelope: ${reason}`,
      itemCount: 1,
      wellFormed: 0,
      malformed: 1,
      apiSpaceIds,
    };
  }
  return { problem: null, itemCount: 1, wellFormed: 1, malformed: 0, apiSpaceIds };
}

/**
 * Splits a delivery's raw bytes into well-formed envelopes and malformed items, each with where its
 * own bytes stand. Never throws: every outcome is data, so the caller can keep the bytes whatever
 * they hold.
 */
export function parseDelivery(body: Buffer): ParsedDelivery {
  const invalid = (problem: string, itemCount = 0): ParsedDelivery => ({
    problem,
    isBatch: false,
    envelopes: [],
    malformed: [{ index: null, reason: problem, span: null }],
    itemCount,
  });
  const read = readJson(body);
  if ('problem' in read) return invalid(read.problem);
  const { value } = read;

  if (Array.isArray(value)) {
    const parsed: ParsedDelivery = {
      problem: null,
      isBatch: true,
      envelopes: [],
      malformed: [],
      itemCount: value.length,
    };
    const spans = arrayItemSpans(body);
    value.forEach((item: unknown, index) => {
      const reason = envelopeProblem(item);
      if (reason === null) parsed.envelopes.push({ index, envelope: item as Envelope, span: spans[index] });
      else parsed.malformed.push({ index, reason, span: spans[index] });
    });
    return parsed;
  }

  if (typeof value !== 'object' || value === null) return invalid(NOT_AN_ENVELOPE_OR_ARRAY);
  const reason = envelopeProblem(value);
  if (reason !== null) return invalid(`body is not a well-formed envelope: ${reason}`, 1);
  return {
    problem: null,
    isBatch: false,
    envelopes: [{ index: 0, envelope: value as Envelope, span: trimmedSpan(body) }],
    malformed: [],
    itemCount: 1,
  };
}
