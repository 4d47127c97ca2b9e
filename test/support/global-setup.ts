import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL } from './env';

/** One database and one AMQP prefix per test run; global-teardown removes both. */
export default async function globalSetup(): Promise<void> {
  const tag = `e2e_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${tag}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${tag}`;
  process.env.E2E_DATABASE_NAME = tag;
  process.env.E2E_DATABASE_URL = url.toString();
  process.env.E2E_AMQP_PREFIX = `omni-${tag}`;
}
