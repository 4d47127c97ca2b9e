import { Client } from 'pg';
import { runDatabaseUrl } from './env';

/** A plain PostgreSQL client on the run's database, for reading what the service stored. */
export class Db {
  private constructor(private readonly client: Client) {}

  static async connect(url = runDatabaseUrl()): Promise<Db> {
    const client = new Client({ connectionString: url });
    await client.connect();
    return new Db(client);
  }

  async rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const [row] = await this.rows<{ count: string }>(sql, params);
    return Number(row.count);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
