import type { Env } from './env.schema';

/*
 * Each part of the service is handed the slice of configuration it uses, and nothing else: the
 * webhook secrets reach the signature check only, the database URL the database module only.
 * Abstract classes double as Nest injection tokens and as types, so a constructor simply asks
 * for `BrokerConfig`. `configSlices` is the one place that maps the environment onto them.
 */

export type AppRole = Env['APP_ROLE'];

export abstract class AppConfig {
  readonly role: AppRole;
  /** The package version, shown at start-up and on the test page. */
  readonly version: string;
}

export abstract class HttpConfig {
  readonly port: number;
  /** Largest accepted body, in bytes. */
  readonly bodyLimit: number;
  /** Admission: body bytes and requests in flight at once; past either, 503 at once. */
  readonly maxBytesInFlight: number;
  readonly maxRequestsInFlight: number;
  /** Longest a request may take to arrive (headers and body); past it 408, connection closed. */
  readonly requestTimeoutMs: number;
}

export abstract class BrokerConfig {
  /** One URL per node of a cluster; the next is tried when one is unreachable. */
  readonly urls: readonly string[];
  readonly prefix: string;
  readonly publishTimeoutMs: number;
}

export abstract class DatabaseConfig {
  readonly url: string;
}

export abstract class ConsumerConfig {
  readonly prefetch: number;
  /** Body bytes held unacknowledged at once: the prefetch follows the observed delivery sizes. */
  readonly prefetchBytes: number;
  readonly batchSize: number;
  readonly maxAttempts: number;
  /** Role `all`: the longest a batch waits while this process's webhook requests keep its event loop busy. */
  readonly yieldMs: number;
}

export abstract class FeedConfig {
  /** Publish every newly stored event to `<prefix>.events`. */
  readonly enabled: boolean;
  /**
   * Record new events in feed_outbox and relay it: for the feed, or for HTTP destinations
   * (DESTINATIONS_FILE set), which the relay's round hands them to.
   */
  readonly outbox: boolean;
}

export abstract class DestinationsConfig {
  /** The HTTP destinations, reloaded while running (DESTINATIONS_FILE), or null: none. */
  readonly file: string | null;
  /** The first retry delay; each next one doubles, at most an hour apart. */
  readonly retryBaseMs: number;
}

export abstract class SignatureConfig {
  /** Secrets valid for every API space (WEBHOOK_SECRETS). */
  readonly secrets: readonly string[];
  /** Secrets per API space, reloaded while running (WEBHOOK_SPACES_FILE), or null. */
  readonly spacesFile: string | null;
}

export abstract class AdminConfig {
  /** Operator keys of /admin and /console: read and act (ADMIN_API_KEYS). */
  readonly apiKeys: readonly string[];
  /** Read-only keys of the same (ADMIN_READ_KEYS). With neither list, no /admin nor /console at all. */
  readonly readKeys: readonly string[];
  /** A console session ends after this many idle minutes. */
  readonly sessionMinutes: number;
}

export abstract class RetentionConfig {
  /** Events and quarantine rows older than this many days are removed; null keeps everything. */
  readonly days: number | null;
}

export abstract class LifecycleConfig {
  readonly shutdownTimeoutMs: number;
}

export abstract class LogConfig {
  readonly level: Env['LOG_LEVEL'];
}

export interface ConfigSlices {
  app: AppConfig;
  http: HttpConfig;
  broker: BrokerConfig;
  database: DatabaseConfig;
  consumer: ConsumerConfig;
  feed: FeedConfig;
  destinations: DestinationsConfig;
  signature: SignatureConfig;
  admin: AdminConfig;
  retention: RetentionConfig;
  lifecycle: LifecycleConfig;
  log: LogConfig;
}

export function configSlices(env: Env, version: string): ConfigSlices {
  return {
    app: { role: env.APP_ROLE, version },
    http: {
      port: env.PORT,
      bodyLimit: env.BODY_LIMIT,
      maxBytesInFlight: env.INTAKE_MAX_BYTES,
      maxRequestsInFlight: env.INTAKE_MAX_REQUESTS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    },
    broker: {
      urls: splitList(env.AMQP_URL),
      prefix: env.AMQP_PREFIX,
      publishTimeoutMs: env.PUBLISH_TIMEOUT_MS,
    },
    database: { url: env.DATABASE_URL },
    consumer: {
      prefetch: env.CONSUMER_PREFETCH,
      prefetchBytes: env.CONSUMER_PREFETCH_BYTES,
      batchSize: env.CONSUMER_BATCH_SIZE,
      maxAttempts: env.CONSUMER_MAX_ATTEMPTS,
      yieldMs: env.CONSUMER_YIELD_MS,
    },
    feed: { enabled: env.FEED_ENABLED, outbox: env.FEED_ENABLED || env.DESTINATIONS_FILE !== undefined },
    destinations: { file: env.DESTINATIONS_FILE ?? null, retryBaseMs: env.DESTINATIONS_RETRY_BASE_MS },
    signature: { secrets: env.WEBHOOK_SECRETS ?? [], spacesFile: env.WEBHOOK_SPACES_FILE ?? null },
    admin: {
      apiKeys: env.ADMIN_API_KEYS ?? [],
      readKeys: env.ADMIN_READ_KEYS ?? [],
      sessionMinutes: env.CONSOLE_SESSION_MINUTES,
    },
    retention: { days: env.RETENTION_DAYS ?? null },
    lifecycle: { shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    log: { level: env.LOG_LEVEL },
  };
}

/** /admin and /console are served (in the roles with PostgreSQL) when any admin key is configured. */
export function adminEnabled(admin: AdminConfig): boolean {
  return admin.apiKeys.length + admin.readKeys.length > 0;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
