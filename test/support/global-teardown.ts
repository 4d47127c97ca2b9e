import { Client } from 'pg';
import { ADMIN_DATABASE_URL } from './env';
import { deleteQueuesWithPrefix } from './broker';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.E2E_DATABASE_NAME;
  if (name) {
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
  const prefix = process.env.E2E_AMQP_PREFIX;
  if (prefix) await deleteQueuesWithPrefix(prefix);
}
