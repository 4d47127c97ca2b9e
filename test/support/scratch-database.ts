import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL } from './env';

/**
 * A database of one spec's own on the machine's PostgreSQL, named after the run's database so a
 * leftover is recognisable. For specs that reset tables or count every row: spec files of one run
 * may run in parallel and would otherwise see each other's rows. `drop()` removes it.
 */
export class ScratchDatabase {
  private constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(tag: string): Promise<ScratchDatabase> {
    const base = process.env.E2E_DATABASE_NAME ?? 'e2e';
    const name = `${base}_${tag}_${randomBytes(3).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
    return new ScratchDatabase(name, databaseUrl(name));
  }

  async drop(): Promise<void> {
    await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`));
  }
}

/** The URL of database `name` on the admin connection's server. */
export function databaseUrl(name: string, adminUrl = ADMIN_DATABASE_URL): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` on a short-lived connection to the admin database (CREATE/DROP DATABASE). */
export async function withAdmin<T>(
  work: (client: Client) => Promise<T>,
  adminUrl = ADMIN_DATABASE_URL,
): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
