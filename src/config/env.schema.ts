import { z } from 'zod';
import { splitList } from './config.slices';

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `10mb`, `512kb`, `1048576` → bytes; the same grammar Express' body parsers accept. */
export function parseByteSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? 'b').toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

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

/**
 * The environment contract (docs/architecture.md, "Configuration"), plus tuning knobs with safe
 * defaults. Every variable the service reads is here; `.env.example` lists the same names.
 * config.slices.ts maps the result onto the typed slices the modules are given.
 */
export const envSchema = z.object({
  PORT: integer(1, 65535).default(3000),
  WEBHOOK_SECRETS: z
    .string({ required_error: 'is required (comma-separated secrets, each at least 16 characters)' })
    .transform(splitList)
    .refine((secrets) => secrets.length > 0, { message: 'must name at least one secret' })
    .refine((secrets) => secrets.every((secret) => secret.length >= 16), {
      message: 'every secret must be at least 16 characters',
    }),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  AMQP_URL: urlList(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  APP_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  BODY_LIMIT: z
    .string()
    .default('10mb')
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
    }),
  PUBLISH_TIMEOUT_MS: integer(100, 9000).default(5000),
  AMQP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/, 'letters, digits, dot, dash and underscore only')
    .default('omnichannel'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CONSUMER_PREFETCH: integer(1, 10000).default(100),
  CONSUMER_BATCH_SIZE: integer(1, 5000).default(100),
  CONSUMER_MAX_ATTEMPTS: integer(1, 100).default(5),
  SHUTDOWN_TIMEOUT_MS: integer(1000, 120000).default(20000),
});

export type Env = z.infer<typeof envSchema>;

/** Validates `process.env`-like input; throws one error naming every bad variable, never its value. */
export function validateEnv(input: Record<string, unknown>): Env {
  return parseOrThrow(envSchema, input);
}

/** The same rules for a tool that needs only some variables (e.g. `npm run migration:run`). */
export function validateEnvSubset<K extends keyof Env>(
  keys: readonly K[],
  input: Record<string, unknown>,
): Pick<Env, K> {
  const mask = Object.fromEntries(keys.map((key) => [key, true])) as Partial<Record<keyof Env, true>>;
  return parseOrThrow(envSchema.pick(mask), input);
}

function parseOrThrow<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: Record<string, unknown>): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.')}: ${issue.message}`);
  throw new Error(`Invalid configuration:\n${problems.join('\n')}`);
}
