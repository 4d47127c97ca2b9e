import type { DataSource, QueryRunner } from 'typeorm';
import { SessionLease } from '../database/session-lease';

/**
 * The right to send to the HTTP destinations: the service's `destinations` SessionLease (one replica
 * at a time; when the holder dies its session ends and a standby takes over within a second), with
 * the deliverer's statements queued on its one connection, so losing the connection ends the sending
 * in the same moment as the lease.
 */
export class DestinationsLease {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly lease: SessionLease) {}

  get runner(): QueryRunner {
    return this.lease.runner;
  }

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
    const lease = await SessionLease.acquire(dataSource, 'destinations');
    if (!lease) return null;
    try {
      // The deliverer's walk must go down the primary key in order and stop at its LIMIT. With
      // statistics lagging a table that grew fast (a burst, a long outage), the planner would
      // rather sort every pending row of a destination on each read; on this session of its own,
      // a sort is the last resort.
      await lease.runner.query('SET enable_sort = off');
    } catch (err) {
      await lease.release();
      throw err;
    }
    return new DestinationsLease(lease);
  }

  release(): Promise<void> {
    return this.lease.release();
  }
}
