import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { AdminReader } from './admin.reader';
import { DatabaseReader } from './database.reader';
import { dispatchDeliveries, type DispatchProgress } from './delivery.dispatcher';
import { planDeliveries } from './delivery.planner';
import { FeedWatcher } from './feed.watcher';
import { Ledger } from './ledger';
import { RandomSource } from './random.source';
import { resolveOptions, type SimulationOptions } from './simulation.options';
import { checkStore } from './store.check';
import { buildVerdict, type Verdict } from './verdict';
import { generateWorkload } from './workload.generator';

/** A check or the ledger file could not be prepared (bad URL, refused key, missing tables): nothing was sent. */
export class SetupError extends Error {}

export interface SimulationHooks {
  onProgress?: (progress: DispatchProgress) => void;
  /** Receives the ledger once every delivery has settled (before the checks run). */
  onLedger?: (ledger: Ledger) => void;
}

async function prepare<T>(what: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new SetupError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * One run: generate the workload, prepare the checks (the feed's queue must exist before the first
 * delivery), send everything on Dotdigital's terms, then compare what was acknowledged with what the
 * deployment stored and published. Resolves with the verdict; rejects only with an OptionsError or a
 * SetupError, before anything was sent.
 */
export async function runSimulation(input: SimulationOptions, hooks: SimulationHooks = {}): Promise<Verdict> {
  const options = resolveOptions(input);
  const startedAt = new Date();
  const seed = options.seed ?? randomInt(0, 0xffffffff);
  const random = new RandomSource(seed);
  const planned = planDeliveries(generateWorkload(options, random, startedAt), options, random);
  const ledger = new Ledger(planned);

  let database: DatabaseReader | undefined;
  let admin: AdminReader | undefined;
  let feed: FeedWatcher | undefined;
  try {
    if (options.ledgerFile) {
      const file = options.ledgerFile;
      // Written now so that an unwritable path fails before sending, not after hours of retries.
      await prepare('ledger file', () => writeFile(file, '{}\n'));
    }
    if (options.checkDatabase) {
      const url = options.checkDatabase;
      database = await prepare('database check', () => DatabaseReader.open(url));
    }
    if (options.checkAdmin && options.adminKey) {
      const [url, key] = [options.checkAdmin, options.adminKey];
      admin = await prepare('admin API check', () => AdminReader.open(url, key, options.concurrency));
    }
    if (options.checkFeed) {
      const [url, runEvents] = [options.checkFeed, new Set(ledger.allEvents().keys())];
      feed = await prepare('feed check', () => FeedWatcher.start(url, options.feedPrefix, runEvents));
    }

    await dispatchDeliveries(planned, options, ledger, hooks.onProgress);
    hooks.onLedger?.(ledger);
    if (options.ledgerFile) await ledger.writeTo(options.ledgerFile);

    const expected = { events: ledger.acknowledgedEvents(), entities: ledger.expectedEntities() };
    const timing = { settleTimeoutMs: options.settleTimeoutMs, pollIntervalMs: options.pollIntervalMs };
    const [databaseResult, adminResult, feedResult] = await Promise.all([
      database && checkStore(database, expected, timing),
      admin && checkStore(admin, expected, timing),
      feed?.finish(expected.events, timing),
    ]);
    return buildVerdict({
      url: new URL('webhook', options.url.endsWith('/') ? options.url : `${options.url}/`).toString(),
      seed,
      startedAt,
      planned,
      ledger,
      checks: { database: databaseResult, admin: adminResult, feed: feedResult },
    });
  } finally {
    await Promise.all([database?.close(), admin?.close(), feed?.close()]);
  }
}
