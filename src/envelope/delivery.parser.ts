import type { Envelope } from './envelope';

export interface MalformedItem {
  /** Position in the batch; null when the whole delivery is malformed. */
  index: number | null;
  reason: string;
}

export interface ParsedDelivery {
  /** Set when the delivery as a whole cannot be understood (answered 400, kept in quarantine). */
  problem: string | null;
  isBatch: boolean;
  /** Well-formed envelopes with their position in the delivery (0 for a single envelope). */
  envelopes: { index: number; envelope: Envelope }[];
  malformed: MalformedItem[];
  /** Items in the delivery: 1 for one envelope, the array's length for a batch, 0 when unreadable. */
  itemCount: number;
}

/** Why a value is not a well-formed envelope, or null when it is one (DESIGN §3). */
export function envelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'item is not a JSON object';
  const record = value as Record<string, unknown>;
  if (typeof record.eventId !== 'string' || record.eventId.length === 0)
    return 'eventId is missing or not a non-empty string';
  if (typeof record.name !== 'string' || record.name.length === 0)
    return 'name is missing or not a non-empty string';
  return null;
}

/**
 * Splits a delivery's raw bytes into well-formed envelopes and malformed items. Never throws:
 * every outcome is data, so the caller can keep the bytes whatever they hold.
 */
export function parseDelivery(body: Buffer): ParsedDelivery {
  const invalid = (problem: string): ParsedDelivery => ({
    problem,
    isBatch: false,
    envelopes: [],
    malformed: [{ index: null, reason: problem }],
    itemCount: 0,
  });

  if (body.length === 0) return invalid('body is empty');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return invalid('body is not valid JSON');
  }

  if (Array.isArray(value)) {
    const parsed: ParsedDelivery = {
      problem: null,
      isBatch: true,
      envelopes: [],
      malformed: [],
      itemCount: value.length,
    };
    value.forEach((item: unknown, index) => {
      const reason = envelopeProblem(item);
      if (reason === null) parsed.envelopes.push({ index, envelope: item as Envelope });
      else parsed.malformed.push({ index, reason });
    });
    return parsed;
  }

  if (typeof value !== 'object' || value === null)
    return invalid('body must be a JSON object (one envelope) or an array of envelopes');
  const reason = envelopeProblem(value);
  if (reason !== null) return { ...invalid(`body is not a well-formed envelope: ${reason}`), itemCount: 1 };
  return {
    problem: null,
    isBatch: false,
    envelopes: [{ index: 0, envelope: value as Envelope }],
    malformed: [],
    itemCount: 1,
  };
}
