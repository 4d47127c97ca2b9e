import type { DataSource, QueryRunner } from 'typeorm';

/** Arbitrary but fixed: every replica competes for the same session-level advisory lock. */
const FEED_RELAY_LOCK_KEY = 7_402_611_534;

/**
 * PostgreSQL ends the lease's session after this long without a statement (the relay queries at
 * least every second while it holds the lease): if the holder's connection died without a FIN or an
 * RST, its session, and so the lease, would otherwise outlive it until the server's TCP keepalive
 * notices (about two hours by default), and no replica would relay meanwhile.
 */
const IDLE_SESSION_TIMEOUT = '60s';

/**
 * The right to relay, held as a PostgreSQL session-level advisory lock on a connection of its own.
 * Only one replica holds it; when the holder dies its session ends, PostgreSQL releases the lock,
 * and a standby's next attempt takes it. Everything the relay reads and deletes goes through this
 * connection, so losing the connection stops the relay in the same moment it loses the lock.
 */
export class RelayLease {
  private constructor(readonly runner: QueryRunner) {}

  /** The lease, or null when another replica holds it. */
  static async acquire(dataSource: DataSource): Promise<RelayLease | null> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        FEED_RELAY_LOCK_KEY,
      ])) as { locked: boolean }[];
      if (locked) {
        // PostgreSQL 14 and later; an older server keeps the lease until TCP notices a dead holder.
        await runner.query(`SET idle_session_timeout = '${IDLE_SESSION_TIMEOUT}'`).catch(() => undefined);
        return new RelayLease(runner);
      }
    } catch (err) {
      await runner.release().catch(() => undefined);
      throw err;
    }
    await runner.release();
    return null;
  }

  async release(): Promise<void> {
    await this.runner.query('SELECT pg_advisory_unlock($1)', [FEED_RELAY_LOCK_KEY]).catch(() => undefined);
    await this.runner.release().catch(() => undefined);
  }
}
