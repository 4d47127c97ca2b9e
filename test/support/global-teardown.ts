import { deleteQueuesWithPrefix } from './broker';
import { withAdmin } from './scratch-database';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.E2E_DATABASE_NAME;
  if (name) await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const prefix = process.env.E2E_AMQP_PREFIX;
  if (prefix) await deleteQueuesWithPrefix(prefix);
}
