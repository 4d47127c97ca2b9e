/** `npm run migration:run` (dist/database/migrate.js): applies pending migrations to DATABASE_URL and exits. */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { validateEnvSubset } from '../config/env.schema';
import { dataSourceOptions } from './data-source.options';
import { runMigrationsLocked } from './migrations.runner';

async function main(): Promise<void> {
  // Validated by the service's own rules, so a bad URL is reported the same way, without its value.
  const { DATABASE_URL } = validateEnvSubset(['DATABASE_URL'], process.env);
  const dataSource = new DataSource(dataSourceOptions(DATABASE_URL));
  await dataSource.initialize();
  try {
    const applied = await runMigrationsLocked(dataSource);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
