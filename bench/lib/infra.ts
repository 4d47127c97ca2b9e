import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Client } from 'pg';

/** The bench's own handles on PostgreSQL and RabbitMQ: databases, queues, counts; removes what it made. */
export class Infra {
  private admin?: Client;
  private amqp?: ChannelModel;
  private readonly databases = new Set<string>();
  private readonly clients = new Map<string, Client>();
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  constructor(
    readonly adminUrl: string,
    readonly amqpUrl: string,
  ) {}

  async connect(): Promise<void> {
    this.admin = new Client({ connectionString: this.adminUrl, application_name: 'bench' });
    await this.admin.connect();
    this.amqp = await connect(this.amqpUrl, { clientProperties: { connection_name: 'bench' } });
    this.amqp.on('error', () => undefined);
  }

  async versions(): Promise<{ postgres: string; rabbitmq: string }> {
    const { rows } = await this.admin!.query<{ server_version: string }>('SHOW server_version');
    const rabbit = this.amqp!.connection.serverProperties as unknown as { version?: string };
    return { postgres: rows[0].server_version, rabbitmq: rabbit.version ?? 'unknown' };
  }

  /** A fresh database; its URL. Dropped by `cleanUp`. */
  async createDatabase(name: string): Promise<string> {
    this.databases.add(name);
    await this.admin!.query(`CREATE DATABASE "${name}"`);
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** A client on database `name` (one per database, reused). */
  async db(name: string): Promise<Client> {
    let client = this.clients.get(name);
    if (!client) {
      const url = new URL(this.adminUrl);
      url.pathname = `/${name}`;
      client = new Client({ connectionString: url.toString(), application_name: 'bench' });
      client.on('error', () => undefined);
      await client.connect();
      this.clients.set(name, client);
    }
    return client;
  }

  /** Remembers queues and exchanges to delete at the end. */
  track(queues: string[], exchanges: string[] = []): void {
    for (const queue of queues) this.queues.add(queue);
    for (const exchange of exchanges) this.exchanges.add(exchange);
  }

  /** A short-lived channel: a failed operation (e.g. 404) closes only that channel. */
  private async withChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.amqp!.createChannel();
    channel.on('error', () => undefined);
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async queueState(queue: string): Promise<{ messages: number; consumers: number } | null> {
    try {
      return await this.withChannel(async (channel) => {
        const ok = await channel.checkQueue(queue);
        return { messages: ok.messageCount, consumers: ok.consumerCount };
      });
    } catch {
      return null;
    }
  }

  async purge(queue: string): Promise<void> {
    await this.withChannel((channel) => channel.purgeQueue(queue));
  }

  private cleaning?: Promise<string[]>;

  /** Drops every database and deletes every queue/exchange the bench created; never throws; once. */
  cleanUp(): Promise<string[]> {
    this.cleaning ??= this.removeAll();
    return this.cleaning;
  }

  private async removeAll(): Promise<string[]> {
    const problems: string[] = [];
    for (const client of this.clients.values()) await client.end().catch(() => undefined);
    this.clients.clear();
    if (this.amqp) {
      for (const queue of this.queues) {
        await this.withChannel((c) => c.deleteQueue(queue)).catch((e: Error) =>
          problems.push(`queue ${queue}: ${e.message}`),
        );
      }
      for (const exchange of this.exchanges) {
        await this.withChannel((c) => c.deleteExchange(exchange)).catch((e: Error) =>
          problems.push(`exchange ${exchange}: ${e.message}`),
        );
      }
      await this.amqp.close().catch(() => undefined);
      this.amqp = undefined;
    }
    if (this.admin) {
      for (const name of this.databases) {
        await this.admin
          .query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
          .catch((e: Error) => problems.push(`database ${name}: ${e.message}`));
      }
      await this.admin.end().catch(() => undefined);
      this.admin = undefined;
    }
    return problems;
  }
}
