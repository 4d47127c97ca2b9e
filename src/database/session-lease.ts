import type { DataSource, QueryRunner } from 'typeorm';

/*
 * The two-int4 form of the advisory lock: PostgreSQL keeps it apart from the single-bigint keys
 * (pg_locks.objsubid 2, not 1) that the storing path takes per entity (hashtextextended), so no
 * entity's hash can ever collide with a lease. Arbitrary but fixed: every replica competes for the
 * same pair; one class of keys, one object id per lease.
 */
const LEASE_CLASS = 740_261_153;

/** The leases of the service: what one replica at a time may do. */
export const LEASES = {
  retention: { classId: LEASE_CLASS, objId: 1 },
  feedRelay: { classId: LEASE_CLASS, objId: 2 },
  destinations: { classId: LEASE_CLASS, objId: 3 },
} as const;

export type LeaseName = keyof typeof LEASES;

/**
 * PostgreSQL ends a lease's session after this long without a statement, unless the use asks for
 * longer: if the holder's connection died without a FIN or an RST, its session, and so the lease,
 * would otherwise outlive it until the server's TCP keepalive notices (about two hours by default),
 * and no replica would take over meanwhile. The holder must run a statement more often than this.
 */
export const DEFAULT_IDLE_SESSION_TIMEOUT_MS = 60_000;

/**
 * The right to do one thing alone among replicas, held as a PostgreSQL session-level advisory lock
 * on a connection of its own. When the holder dies its session ends, PostgreSQL releases the lock,
 * and another replica's next attempt takes it. The holder's statements go through `runner`, so
 * losing the connection ends the work in the same moment as the lease.
 */
export class SessionLease {
  private constructor(
    readonly runner: QueryRunner,
    private readonly name: LeaseName,
  ) {}

  /** The lease, or null when another replica holds it. */
  static async acquire(
    dataSource: DataSource,
    name: LeaseName,
    idleSessionTimeoutMs = DEFAULT_IDLE_SESSION_TIMEOUT_MS,
  ): Promise<SessionLease | null> {
    const { classId, objId } = LEASES[name];
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1, $2) AS locked', [
        classId,
        objId,
      ])) as { locked: boolean }[];
      if (locked) {
        // PostgreSQL 14 and later; an older server keeps the lease until TCP notices a dead holder.
        await runner
          .query(`SET idle_session_timeout = ${Math.round(idleSessionTimeoutMs)}`)
          .catch(() => undefined);
        return new SessionLease(runner, name);
      }
    } catch (err) {
      await runner.release().catch(() => undefined);
      throw err;
    }
    await runner.release();
    return null;
  }

  async release(): Promise<void> {
    const { classId, objId } = LEASES[this.name];
    await this.runner.query('SELECT pg_advisory_unlock($1, $2)', [classId, objId]).catch(() => undefined);
    await this.runner.release().catch(() => undefined);
  }
}
