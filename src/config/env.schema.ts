import { z } from 'zod';
import { splitList } from './config.slices';
import { resolveSecretFiles, type ResolvedEnv } from './secret-files';

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `10mb`, `512kb`, `1048576` → bytes; the same grammar Express' body parsers accept. */
export function parseByteSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Comma-separated secrets, each at least `minLength` characters. */
const secretList = (minLength: number) =>
  z
    .string()
    .transform(splitList)
    .refine((secrets) => secrets.length > 0, { message: 'must name at least one secret' })
    .refine((secrets) => secrets.every((secret) => secret.length >= minLength), {
      message: `every secret must be at least ${minLength} characters`,
    });

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
  WEBHOOK_SECRETS: secretList(16).optional(),
  WEBHOOK_SPACES_FILE: z.string().min(1).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  AMQP_URL: urlList(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  APP_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  BODY_LIMIT: byteSize('10mb'),
  // Bodies held at once by the requests in flight (read until answered); past it, 503 at once.
  INTAKE_MAX_BYTES: byteSize('64mb'),
  // Requests in flight at once (reading, verifying, awaiting the broker's confirm); past it, 503.
  INTAKE_MAX_REQUESTS: integer(1, 100000).default(1000),
  PUBLISH_TIMEOUT_MS: integer(100, 9000).default(5000),
  AMQP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/, 'letters, digits, dot, dash and underscore only')
    .default('omnichannel'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CONSUMER_PREFETCH: integer(1, 10000).default(100),
  CONSUMER_BATCH_SIZE: integer(1, 5000).default(100),
  CONSUMER_MAX_ATTEMPTS: integer(1, 100).default(5),
  // Role all: the longest a batch waits while webhook requests keep the event loop busy; 0: never.
  CONSUMER_YIELD_MS: integer(0, 10000).default(200),
  SHUTDOWN_TIMEOUT_MS: integer(1000, 120000).default(20000),
  FEED_ENABLED: flag(true),
  ADMIN_API_KEYS: secretList(32).optional(),
  ADMIN_READ_KEYS: secretList(32).optional(),
  CONSOLE_SESSION_MINUTES: integer(1, 1440).default(60),
  RETENTION_DAYS: integer(2, 36500).optional(),
});

export type Env = z.infer<typeof envSchema>;

const REQUIRED_SECRETS =
  'is required unless WEBHOOK_SPACES_FILE is set, in the roles that receive webhooks (api, all): comma-separated secrets, each at least 16 characters';

/**
 * Validates `process.env`-like input (`<NAME>_FILE` variables read first, see secret-files.ts);
 * throws one error naming every bad variable, never its value.
 */
export function validateEnv(input: Record<string, unknown>): Env {
  const schema = envSchema.superRefine((env, ctx) => {
    // The worker verifies nothing: it stores what the api already verified.
    if (env.INTAKE_MAX_BYTES < env.BODY_LIMIT)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['INTAKE_MAX_BYTES'],
        message: `must be at least BODY_LIMIT (${env.BODY_LIMIT} bytes), or no body of that size could ever be admitted`,
      });
    if (
      env.APP_ROLE !== 'worker' &&
      env.WEBHOOK_SECRETS === undefined &&
      env.WEBHOOK_SPACES_FILE === undefined
    )
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['WEBHOOK_SECRETS'], message: REQUIRED_SECRETS });
  });
  return parseOrThrow(schema, resolveSecretFiles(input));
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
