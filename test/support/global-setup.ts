import { randomBytes } from 'node:crypto';
import { databaseUrl, withAdmin } from './scratch-database';

/** One database and one AMQP prefix per test run; global-teardown removes both. */
export default async function globalSetup(): Promise<void> {
  const tag = `e2e_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${tag}`));
  process.env.E2E_DATABASE_NAME = tag;
  process.env.E2E_DATABASE_URL = databaseUrl(tag);
  process.env.E2E_AMQP_PREFIX = `omni-${tag}`;
}
