import type { DataSource, QueryRunner } from 'typeorm';

/*
 * The two-int4 form of the advisory lock: PostgreSQL keeps it apart from the single-bigint keys
 * (pg_locks.objsubid 2, not 1) that the storing path takes per entity (hashtextextended), so no
 * entity's hash can ever collide with it while a pass holds it. Arbitrary but fixed: every replica
 * competes for the same pair.
 */
const LOCK_CLASS = 740_261_153;
const LOCK_RETENTION = 1;

/**
 * The right to run a retention pass, held as a PostgreSQL session-level advisory lock on a
 * connection of its own for the length of one pass. Only one replica works at a time; when the
 * holder dies its session ends and PostgreSQL releases the lock. The pass's statements go through
 * this connection, so losing it ends the pass in the same moment as the lock.
 */
export class RetentionLease {
  static readonly lockKey = { classId: LOCK_CLASS, objId: LOCK_RETENTION } as const;

  private constructor(readonly runner: QueryRunner) {}

  /** The lease, or null when another replica holds it. */
  static async acquire(dataSource: DataSource): Promise<RetentionLease | null> {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        LOCK_CLASS,
        LOCK_RETENTION,
      ])) as { locked: boolean }[];
      if (locked) return new RetentionLease(runner);
    } catch (err) {
      await runner.release().catch(() => undefined);
      throw err;
    }
    await runner.release();
    return null;
  }

  async release(): Promise<void> {
    await this.runner
      .query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_RETENTION])
      .catch(() => undefined);
    await this.runner.release().catch(() => undefined);
  }
}
