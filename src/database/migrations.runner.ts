import type { DataSource } from 'typeorm';

/** Arbitrary but fixed: every replica (and `npm run migration:run`) takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 7_402_611_533;

/**
 * Runs pending migrations while holding a session-level PostgreSQL advisory lock, so replicas that
 * start together apply each migration exactly once; the others wait, then find nothing to do.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}
