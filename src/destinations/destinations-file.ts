import { createHash } from 'node:crypto';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** One destination as the service uses it: validated, defaults filled, secrets decoded. */
export interface Destination {
  readonly name: string;
  readonly url: string;
  /** HMAC keys: the bytes of each `whsec_<base64>` secret, in the file's order. */
  readonly keys: readonly Buffer[];
  readonly filter: readonly string[];
  readonly ordering: 'entity' | 'none';
  readonly timeoutMs: number;
  readonly maxInFlight: number;
  readonly maxAgeHours: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** A file that cannot be used; the message names each destination and field at fault, never a secret. */
export class DestinationsFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'DestinationsFileError';
  }
}

const SECRET_PREFIX = 'whsec_';
/** Standard Webhooks: keys of 24 to 64 random bytes. */
const KEY_BYTES = { min: 24, max: 64 };

/**
 * Headers a destination's static `headers` may not set: what the signature covers or names, the
 * feed's own headers, and what the HTTP client itself owns.
 */
const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  'traceparent',
  'tracestate',
  'x-outcome',
  'x-entity-type',
  'x-entity-id',
  'x-revision',
]);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, spaces and tabs only: no CR or LF that could split a header.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const PATTERN_WORD = /^(?:\*|#|[^.*#]+)$/;

const secret = z.string().refine(isSecret, {
  message: `must be ${SECRET_PREFIX} followed by the base64 of ${KEY_BYTES.min} to ${KEY_BYTES.max} random bytes (Standard Webhooks)`,
});

const pattern = z.string().refine((value) => value.split('.').every((word) => PATTERN_WORD.test(word)), {
  message: 'must be a routing-key pattern: words separated by dots, * for one word, # for zero or more',
});

const destinationSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9-]+$/, 'must be lower-case letters, digits and dashes')
      .max(64, 'must be at most 64 characters'),
    url: z
      .string()
      .refine(isHttpUrl, { message: 'must be an http:// or https:// URL (without user or password)' }),
    secrets: z.array(secret).min(1, 'must list at least one secret'),
    filter: z.array(pattern).min(1, 'must list at least one pattern (# for every event)').default(['#']),
    ordering: z.enum(['entity', 'none']).default('entity'),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    maxInFlight: z.number().int().min(1).max(1000).default(16),
    maxAgeHours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(72),
    headers: z
      .record(z.string(), z.string().regex(HEADER_VALUE, 'must hold visible ASCII characters only'))
      .default({})
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          if (!HEADER_NAME.test(name)) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [name],
              message: 'is not a valid header name',
            });
          } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [name],
              message: 'is set by the service and cannot be overridden',
            });
          }
        }
      }),
  })
  .strict();

const fileSchema = z.array(z.unknown());

/**
 * Reads the text of DESTINATIONS_FILE: a list of destinations, as JSON or YAML (JSON is tried
 * first, so its error positions stay JSON's). Throws a DestinationsFileError naming every problem
 * by destination and field.
 */
export function parseDestinationsFile(text: string): Destination[] {
  const value = readDocument(text);
  const list = fileSchema.safeParse(value);
  if (!list.success) throw new DestinationsFileError(['must be a list of destinations']);
  const problems: string[] = [];
  const destinations: Destination[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of list.data.entries()) {
    const label = labelOf(entry, index);
    const parsed = destinationSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(`${label}: ${issue.path.join('.') || '(entry)'}: ${issue.message}`);
      continue;
    }
    if (seen.has(parsed.data.name)) {
      problems.push(`${label}: name: is used by an earlier destination`);
      continue;
    }
    seen.add(parsed.data.name);
    const { secrets, ...rest } = parsed.data;
    destinations.push({ ...rest, keys: secrets.map(keyOf) });
  }
  if (problems.length > 0) throw new DestinationsFileError(problems);
  return destinations;
}

/** The first 8 hex digits of the SHA-256 of a key: which secrets are in force, never a secret. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function readDocument(text: string): unknown {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') throw new DestinationsFileError(['is empty']);
  try {
    return JSON.parse(source) as unknown;
  } catch {
    // Not JSON: YAML. Its messages quote the text around an error, which may hold a secret: position only.
  }
  try {
    return parseYaml(source) as unknown;
  } catch (err) {
    const at = err instanceof YAMLParseError ? err.linePos?.[0] : undefined;
    throw new DestinationsFileError([
      `is neither valid JSON nor valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}`,
    ]);
  }
}

function labelOf(entry: unknown, index: number): string {
  const name = (entry as { name?: unknown } | null)?.name;
  const shown = typeof name === 'string' && name.length > 0 ? ` ${JSON.stringify(name.slice(0, 64))}` : '';
  return `destination${shown} (entry ${index + 1})`;
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  // Credentials in the URL would be sent on every request and shown in logs: headers are the place.
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
  );
}

function isSecret(value: string): boolean {
  if (!value.startsWith(SECRET_PREFIX)) return false;
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return false;
  const bytes = Buffer.from(encoded, 'base64').length;
  return bytes >= KEY_BYTES.min && bytes <= KEY_BYTES.max;
}

function keyOf(secretText: string): Buffer {
  return Buffer.from(secretText.slice(SECRET_PREFIX.length), 'base64');
}
