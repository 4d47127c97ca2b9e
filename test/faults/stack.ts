import { connect } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { topologyFor } from '../../src/messaging/topology';
import { PrivatePostgres } from '../support/private-postgres';
import { RabbitNode } from '../support/rabbit-node';
import { DestinationCollector } from './destination-collector';
import { FeedCollector } from './feed-collector';
import { Nginx } from './nginx';
import { ProxyHost, type RemoteFaultProxy } from './remote-proxy';
import { ServiceChild } from './service-child';

/** A secret for the fault runs only (never a real one). */
export const FAULTS_SECRET = 'fault-schedule-secret-0123456789abcdef';

export interface StackPorts {
  nginx: number;
  apis: number[];
  workers: number[];
  postgres: number;
  /** Where the services reach PostgreSQL (a FaultProxy), or null: directly. */
  postgresProxy: number | null;
  /** The RabbitMQ nodes (more than one: clustered). */
  brokers: number[];
  /** Where the services reach the (single) broker (a FaultProxy), or null: directly, every node. */
  brokerProxy: number | null;
}

export interface StackOptions {
  dir: string;
  main: string;
  ports: StackPorts;
  log: (line: string) => void;
}

/**
 * The production topology on one machine: nginx (docker/nginx.conf) in front of the api processes,
 * the worker processes, a private RabbitMQ node (or cluster) and a private PostgreSQL cluster, with
 * FaultProxy instances on the services' paths to the broker and to PostgreSQL. The checks (database
 * reads, the feed collector, the dead-letter count) go around the proxies.
 */
export class Stack {
  readonly prefix = `faults-${randomBytes(3).toString('hex')}`;
  readonly postgres: PrivatePostgres;
  readonly brokers: RabbitNode[];
  brokerProxy: RemoteFaultProxy | null = null;
  postgresProxy: RemoteFaultProxy | null = null;
  private proxyHost: ProxyHost | null = null;
  readonly apis: ServiceChild[] = [];
  readonly workers: ServiceChild[] = [];
  nginx!: Nginx;
  feed!: FeedCollector;
  /** The HTTP destination every worker sends the stored events to. */
  destination!: DestinationCollector;

  constructor(private readonly options: StackOptions) {
    const { ports } = options;
    this.postgres = new PrivatePostgres(ports.postgres);
    this.brokers = ports.brokers.map((port, i) =>
      ports.brokers.length > 1 ? new RabbitNode(port, `omnicluster${i + 1}x${port}`) : new RabbitNode(port),
    );
  }

  get services(): ServiceChild[] {
    return [...this.apis, ...this.workers];
  }

  /** PostgreSQL as the checks reach it (not through the proxy). */
  get databaseUrl(): string {
    return this.postgres.url;
  }

  /** Every broker node as the checks reach it (not through the proxy). */
  get brokerUrls(): string[] {
    return this.brokers.map((node) => node.url);
  }

  get topology() {
    return topologyFor(this.prefix);
  }

  /** Builds everything, in dependency order; `teardown()` undoes whatever part was built. */
  async build(): Promise<void> {
    const { ports, dir, log } = this.options;
    mkdirSync(join(dir, 'logs'), { recursive: true });
    log(`PostgreSQL on ${ports.postgres}`);
    await this.postgres.init();
    log(`RabbitMQ ${this.brokers.map((node) => `${node.node} on ${node.port}`).join(', ')}`);
    for (const node of this.brokers) await node.start();
    for (const node of this.brokers.slice(1)) await node.joinCluster(this.brokers[0]);
    if (this.brokers.length > 1) log(`cluster: ${await this.clusterNodes()}`);

    if (ports.brokerProxy !== null || ports.postgresProxy !== null) {
      this.proxyHost = await ProxyHost.start();
      if (ports.brokerProxy !== null) {
        this.brokerProxy = await this.proxyHost.proxy(
          'broker',
          { host: '127.0.0.1', port: ports.brokers[0] },
          ports.brokerProxy,
        );
      }
      if (ports.postgresProxy !== null) {
        this.postgresProxy = await this.proxyHost.proxy(
          'postgres',
          { host: '127.0.0.1', port: ports.postgres },
          ports.postgresProxy,
        );
      }
    }
    const amqpUrl = this.brokerProxy
      ? `amqp://guest:guest@127.0.0.1:${this.brokerProxy.port}`
      : this.brokerUrls.join(',');
    const databaseUrl = this.postgresProxy
      ? `postgres://postgres@127.0.0.1:${this.postgresProxy.port}/postgres`
      : this.postgres.url;

    // The feed's consumer queue exists before anything is published.
    this.feed = await FeedCollector.start(this.brokerUrls, this.prefix);
    this.destination = await DestinationCollector.start();
    const destinationsFile = join(dir, 'destinations.json');
    this.destination.writeFile(destinationsFile);

    const base = {
      WEBHOOK_SECRETS: FAULTS_SECRET,
      AMQP_URL: amqpUrl,
      AMQP_PREFIX: this.prefix,
      LOG_LEVEL: 'warn',
    };
    for (const [i, port] of ports.workers.entries()) {
      this.workers.push(
        new ServiceChild(
          `worker${i + 1}`,
          port,
          this.options.main,
          { ...base, APP_ROLE: 'worker', DATABASE_URL: databaseUrl, DESTINATIONS_FILE: destinationsFile },
          join(dir, 'logs', `worker${i + 1}.log`),
        ),
      );
    }
    for (const [i, port] of ports.apis.entries()) {
      this.apis.push(
        new ServiceChild(
          `api${i + 1}`,
          port,
          this.options.main,
          { ...base, APP_ROLE: 'api' },
          join(dir, 'logs', `api${i + 1}.log`),
        ),
      );
    }
    for (const service of this.services) {
      await service.start();
      log(`${service.name} ready on ${service.port}`);
    }
    this.nginx = new Nginx(
      join(dir, 'nginx'),
      ports.nginx,
      this.apis.map((api) => api.port),
    );
    await this.nginx.start();
    log(`nginx on ${ports.nginx} → ${this.apis.map((api) => api.port).join(', ')}`);
  }

  /** `rabbitmqctl cluster_status`'s running nodes, as one line. */
  async clusterNodes(): Promise<string> {
    const status = await this.brokers[0].ctl(['cluster_status', '--formatter', 'json']);
    const parsed = JSON.parse(status) as { running_nodes?: string[] };
    return (parsed.running_nodes ?? []).join(', ');
  }

  /** Messages in the dead-letter queue, read from any broker node that answers. */
  async deadLetters(): Promise<number> {
    let lastError: unknown;
    for (const url of this.brokerUrls) {
      try {
        const model = await connect(url, { timeout: 5000 });
        try {
          const channel = await model.createChannel();
          return (await channel.checkQueue(this.topology.deadLetterQueue)).messageCount;
        } finally {
          await model.close().catch(() => undefined);
        }
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error('no broker node answered');
  }

  /** Rows in quarantined_deliveries (well-formed signed deliveries must never land there). */
  async quarantined(): Promise<number> {
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ count: string }>(
        'SELECT count(*)::text AS count FROM quarantined_deliveries',
      );
      return Number(rows[0].count);
    } finally {
      await client.end();
    }
  }

  /** Stops and removes everything, each step on its own (one failing does not stop the others). */
  async teardown(): Promise<void> {
    const { log } = this.options;
    const steps: [string, () => Promise<unknown>][] = [
      ['nginx', () => this.nginx?.stop() ?? Promise.resolve()],
      ...this.services.map((s) => [s.name, () => s.dispose()] as [string, () => Promise<unknown>]),
      ['feed collector', () => this.feed?.close() ?? Promise.resolve()],
      ['destination collector', () => this.destination?.close() ?? Promise.resolve()],
      ['proxies', () => this.proxyHost?.stop() ?? Promise.resolve()],
      ...this.brokers.map((n) => [n.node, () => n.destroy()] as [string, () => Promise<unknown>]),
      ['postgres', () => this.postgres.destroy()],
    ];
    for (const [what, step] of steps)
      await step().catch((err: Error) => log(`teardown of ${what} failed: ${err.message}`));
  }
}

/** Free bytes on the filesystem that holds `path`. */
export function freeBytes(path: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', path], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}
