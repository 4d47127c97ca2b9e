/** Defaults shared by every e2e test; the run's own database and AMQP prefix come from global-setup. */
export const TEST_SECRET = 'fixture-secret-0123456789abcdef';
export const OTHER_SECRET = 'rotated-secret-abcdefghijklmnop';

export const ADMIN_DATABASE_URL =
  process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Set by global-setup: this run's database and AMQP prefix. */
export function runDatabaseUrl(): string {
  const url = process.env.E2E_DATABASE_URL;
  if (!url) throw new Error('E2E_DATABASE_URL is not set: run the e2e tests through jest (global-setup)');
  return url;
}

export function runPrefix(): string {
  const prefix = process.env.E2E_AMQP_PREFIX;
  if (!prefix) throw new Error('E2E_AMQP_PREFIX is not set: run the e2e tests through jest (global-setup)');
  return prefix;
}

let counter = 0;
/** A fresh AMQP prefix under this run's, so each test gets its own queues. */
export function uniquePrefix(tag: string): string {
  counter += 1;
  return `${runPrefix()}.${tag}-${process.pid}-${counter}`;
}
