/**
 * `npm run feed:replay -- --since <ISO> --until <ISO> [--name n] [--api-space-id s]`: queues the
 * stored events received in [since, until) for the downstream feed again (docs/architecture.md, The feed; docs/operations.md), marked
 * `x-replayed`. It writes outbox entries only; the relay of a running worker (FEED_ENABLED) publishes
 * them. Needs the schema in place (it runs no migrations).
 * Exit codes: 0 queued (possibly 0 events), 2 bad arguments or configuration, 1 the replay failed.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { validateEnvSubset } from '../config/env.schema';
import { timestampOf } from '../envelope/envelope';
import { dataSourceOptions } from '../database/data-source.options';
import { FeedOutbox, type ReplayRange } from '../events/feed-outbox';

export const USAGE = `usage: npm run feed:replay -- --since <ISO 8601> --until <ISO 8601> [--name <event name>] [--api-space-id <id>]

Queues the stored events whose received_at is at or after --since and before --until (optionally of
one event name and one API space) for the feed again, with x-replayed = true. DATABASE_URL names the
database; a running worker with FEED_ENABLED publishes what was queued.
`;

export class UsageError extends Error {}

const FLAGS = {
  since: { type: 'string' },
  until: { type: 'string' },
  name: { type: 'string' },
  'api-space-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The replay range of a command line, or 'help'; throws UsageError naming the bad argument. */
export function parseReplayArgs(argv: readonly string[]): ReplayRange | 'help' {
  let values: { [K in keyof typeof FLAGS]?: string | boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const instant = (flag: 'since' | 'until'): Date => {
    const raw = values[flag] as string | undefined;
    if (raw === undefined) throw new UsageError(`--${flag} is required`);
    const timestamp = timestampOf(raw);
    if (!timestamp)
      throw new UsageError(`--${flag}: "${raw}" is not an ISO 8601 date-time, e.g. 2026-11-20T09:00:00Z`);
    return timestamp.time;
  };
  const text = (flag: 'name' | 'api-space-id'): string | undefined => {
    const raw = values[flag] as string | undefined;
    if (raw !== undefined && raw.trim() === '') throw new UsageError(`--${flag} must not be empty`);
    return raw;
  };
  const range: ReplayRange = { since: instant('since'), until: instant('until') };
  if (range.until <= range.since) throw new UsageError('--until must be later than --since');
  const name = text('name');
  const apiSpaceId = text('api-space-id');
  if (name !== undefined) range.name = name;
  if (apiSpaceId !== undefined) range.apiSpaceId = apiSpaceId;
  return range;
}

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the command; resolves with the exit code. */
export async function runReplayCli(
  argv: readonly string[],
  env: Record<string, unknown>,
  out: CliOutput,
): Promise<number> {
  let range: ReplayRange | 'help';
  try {
    range = parseReplayArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.stderr(`feed:replay: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (range === 'help') {
    out.stdout(USAGE);
    return 0;
  }
  let databaseUrl: string;
  try {
    // The service's own rules: a bad URL is reported by name, never by value.
    ({ DATABASE_URL: databaseUrl } = validateEnvSubset(['DATABASE_URL'], env));
  } catch (err) {
    out.stderr(`feed:replay: ${(err as Error).message}\n`);
    return 2;
  }
  const dataSource = new DataSource(dataSourceOptions(databaseUrl));
  try {
    await dataSource.initialize();
    const events = await new FeedOutbox(dataSource).replay(range);
    const filters = [
      range.name !== undefined ? `, name ${range.name}` : '',
      range.apiSpaceId !== undefined ? `, API space ${range.apiSpaceId}` : '',
    ].join('');
    out.stdout(
      `queued ${events} event${events === 1 ? '' : 's'} for the feed (received ${range.since.toISOString()} ` +
        `to ${range.until.toISOString()}${filters}); a worker with FEED_ENABLED publishes them with x-replayed\n`,
    );
    return 0;
  } catch (err) {
    out.stderr(`feed:replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
  }
}

if (require.main === module) {
  runReplayCli(process.argv.slice(2), process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    // exitCode, not exit(): the output is flushed before the process ends.
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`feed:replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
