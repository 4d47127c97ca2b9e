import { z } from 'zod';
import { splitList } from './config.slices';
import { resolveSecretFiles, type ResolvedEnv } from './secret-files';
import { shortSecretWarnings } from './short-secrets';

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `10mb`, `512kb`, `1048576` → bytes; the same grammar Express' body parsers accept. */
export function parseByteSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Comma-separated keys, each at least `minLength` characters (ADMIN_API_KEYS: this service's own policy). */
const keyList = (minLength: number) =>
  z
    .string()
    .transform(splitList)
    .refine((keys) => keys.length > 0, { message: 'must name at least one key' })
    .refine((keys) => keys.every((key) => key.length >= minLength), {
      message: `every key must be at least ${minLength} characters`,
    });

/**
 * Webhook secrets: comma-separated (trimmed) in WEBHOOK_SECRETS, or the verbatim lines of
 * WEBHOOK_SECRETS_FILE (secret-files.ts). Any non-empty secret Dotdigital accepts is accepted.
 */
const webhookSecrets = z
  .union([z.string().transform(splitList), z.array(z.string())])
  .refine((secrets) => secrets.length > 0, { message: 'must name at least one secret' });

/** `true`/`false` (also `1`/`0`, `yes`/`no`), any case. */
const flag = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((value, ctx) => {
      const normalized = value.trim().toLowerCase();
      if (['true', '1', 'yes'].includes(normalized)) return true;
      if (['false', '0', 'no'].includes(normalized)) return false;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be true or false' });
      return z.NEVER;
    });

const isUrlOf = (protocols: string[]) => (value: string) =>
  URL.canParse(value) && protocols.includes(new URL(value).protocol);

const mustStartWith = (protocols: string[]) =>
  `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`;

const url = (protocols: string[]) =>
  z.string().refine(isUrlOf(protocols), { message: `must be a URL; ${mustStartWith(protocols)}` });

/** One URL, or several separated by commas (the nodes of a cluster). */
const urlList = (protocols: string[]) =>
  z.string().refine((value) => splitList(value).length > 0 && splitList(value).every(isUrlOf(protocols)), {
    message: `must be one URL or a comma-separated list; each ${mustStartWith(protocols)}`,
  });

function byteSize(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const bytes = parseByteSize(value);
      if (bytes === undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: 'must be a size such as 10mb, 512kb or 1048576',
        });
        return z.NEVER;
      }
      return bytes;
    });
}

/**
 * The environment contract (docs/architecture.md, "Configuration"), plus tuning knobs with safe
 * defaults. Every variable the service reads is here; `.env.example` lists the same names.
 * config.slices.ts maps the result onto the typed slices the modules are given.
 */
export const envSchema = z.object({
  PORT: integer(1, 65535).default(3000),
  // Required unless WEBHOOK_SPACES_FILE is set (validateEnv checks the pair).
  WEBHOOK_SECRETS: webhookSecrets.optional(),
  WEBHOOK_SPACES_FILE: z.string().min(1).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  AMQP_URL: urlList(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  APP_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  BODY_LIMIT: byteSize('10mb'),
  // Bodies held at once by the requests in flight (read until answered); past it, 503 at once.
  INTAKE_MAX_BYTES: byteSize('16mb'),
  // Requests in flight at once (reading, verifying, awaiting the broker's confirm); past it, 503.
  INTAKE_MAX_REQUESTS: integer(1, 100000).default(1000),
  PUBLISH_TIMEOUT_MS: integer(100, 9000).default(5000),
  // Longest a request may take to arrive, headers and body; past it 408 and the connection is closed.
  HTTP_REQUEST_TIMEOUT_MS: integer(1000, 300000).default(20000),
  AMQP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/, 'letters, digits, dot, dash and underscore only')
    .default('omnichannel'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CONSUMER_PREFETCH: integer(1, 10000).default(100),
  // Body bytes the consumer holds unacknowledged at once (prefetch set from observed delivery sizes).
  CONSUMER_PREFETCH_BYTES: byteSize('8mb'),
  CONSUMER_BATCH_SIZE: integer(1, 5000).default(100),
  CONSUMER_MAX_ATTEMPTS: integer(1, 100).default(5),
  // Role all: the longest a batch waits while webhook requests keep the event loop busy; 0: never.
  CONSUMER_YIELD_MS: integer(0, 10000).default(200),
  SHUTDOWN_TIMEOUT_MS: integer(1000, 120000).default(20000),
  FEED_ENABLED: flag(true),
  ADMIN_API_KEYS: keyList(32).optional(),
  ADMIN_READ_KEYS: keyList(32).optional(),
  CONSOLE_SESSION_MINUTES: integer(1, 1440).default(60),
  RETENTION_DAYS: integer(2, 36500).optional(),
  // HTTP destinations (JSON or YAML list), reloaded on change and on SIGHUP; unset: none.
  DESTINATIONS_FILE: z.string().min(1).optional(),
  // The first retry delay of a destination (doubling up to an hour). 5000 in production; tests shorten it.
  DESTINATIONS_RETRY_BASE_MS: integer(10, 3_600_000).default(5000),
});

export type Env = z.infer<typeof envSchema>;

const REQUIRED_SECRETS =
  'is required unless WEBHOOK_SPACES_FILE is set, in the roles that receive webhooks (api, all): comma-separated secrets (or WEBHOOK_SECRETS_FILE, one secret per line)';

/**
 * Validates `process.env`-like input (`<NAME>_FILE` variables read first, see secret-files.ts);
 * throws one error naming every bad variable, never its value.
 */
export function validateEnv(input: Record<string, unknown>): Env {
  return readEnv(input).env;
}

/** validateEnv, plus what start-up should warn about (short secrets, a changed file meaning); never a value. */
export function readEnv(input: Record<string, unknown>): { env: Env; warnings: string[] } {
  const schema = envSchema.superRefine((env, ctx) => {
    // The worker verifies nothing: it stores what the api already verified.
    if (env.INTAKE_MAX_BYTES < env.BODY_LIMIT) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['INTAKE_MAX_BYTES'],
        message: `must be at least BODY_LIMIT (${env.BODY_LIMIT} bytes), or no body of that size could ever be admitted`,
      });
    }
    if (
      env.APP_ROLE !== 'worker' &&
      env.WEBHOOK_SECRETS === undefined &&
      env.WEBHOOK_SPACES_FILE === undefined
    )
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['WEBHOOK_SECRETS'], message: REQUIRED_SECRETS });
  });
  const resolved = resolveSecretFiles(input);
  const env = parseOrThrow(schema, resolved);
  const source =
    typeof input.WEBHOOK_SECRETS_FILE === 'string' && input.WEBHOOK_SECRETS_FILE !== ''
      ? 'WEBHOOK_SECRETS_FILE'
      : 'WEBHOOK_SECRETS';
  return { env, warnings: [...resolved.warnings, ...shortSecretWarnings(source, env.WEBHOOK_SECRETS ?? [])] };
}

/** The same rules for a tool that needs only some variables (e.g. `npm run migration:run`). */
export function validateEnvSubset<K extends keyof Env>(
  keys: readonly K[],
  input: Record<string, unknown>,
): Pick<Env, K> {
  const mask = Object.fromEntries(keys.map((key) => [key, true])) as Partial<Record<keyof Env, true>>;
  return parseOrThrow(envSchema.pick(mask), resolveSecretFiles(input, keys));
}

function parseOrThrow<T>(
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  { values, problems: fileProblems }: ResolvedEnv,
): T {
  const result = schema.safeParse(values);
  if (result.success && fileProblems.length === 0) return result.data;
  const problems = [
    ...fileProblems,
    ...(result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)),
  ];
  throw new Error(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
}
