import type { DataSource, QueryRunner } from 'typeorm';

/*
 * The two-int4 form of the advisory lock, kept apart from the single-bigint keys the storing path
 * takes per entity. The pair is the one the service's shared lease class gives this use.
 */
const LEASE_CLASS = 740_261_153;
const DESTINATIONS_LEASE = 3;

/** Ends the session of a holder whose connection died silently (it queries every few hundred ms). */
const IDLE_SESSION_TIMEOUT_MS = 60_000;

/**
 * The right to send to the HTTP destinations, held by one replica at a time as a PostgreSQL
 * session-level advisory lock on a connection of its own; when the holder dies its session ends and
 * a standby takes over within a second. Every read and write of the deliverer goes through
 * `runner`, so losing the connection ends the sending in the same moment as the lease.
 */
export class DestinationsLease {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly runner: QueryRunner) {}

  /**
   * One statement on the lease's connection, after those already asked for: requests finish in any
   * order, and one connection runs one statement at a time.
   */
  query(sql: string, parameters?: unknown[]): Promise<unknown> {
    const run = this.queue.then(() => this.runner.query(sql, parameters));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The lease, or null when another replica holds it. */
  static async acquire(dataSource: DataSource): Promise<DestinationsLease | null> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        LEASE_CLASS,
        DESTINATIONS_LEASE,
      ])) as { locked: boolean }[];
      if (locked) {
        await runner.query(`SET idle_session_timeout = ${IDLE_SESSION_TIMEOUT_MS}`).catch(() => undefined);
        // The deliverer's walk must go down the primary key in order and stop at its LIMIT. With
        // statistics lagging a table that grew fast (a burst, a long outage), the planner would
        // rather sort every pending row of a destination on each read; on this session of its own,
        // a sort is the last resort.
        await runner.query('SET enable_sort = off');
        return new DestinationsLease(runner);
      }
    } catch (err) {
      await runner.release().catch(() => undefined);
      throw err;
    }
    await runner.release();
    return null;
  }

  async release(): Promise<void> {
    await this.runner
      .query('SELECT pg_advisory_unlock($1, $2)', [LEASE_CLASS, DESTINATIONS_LEASE])
      .catch(() => undefined);
    await this.runner.release().catch(() => undefined);
  }
}
