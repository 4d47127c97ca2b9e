import { connect, type ChannelModel, type GetMessage } from 'amqplib';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { topologyFor } from '../../src/messaging/topology';
import { AMQP_URL } from './env';
import { waitFor } from './poll';

const run = promisify(execFile);

/** A plain AMQP client for assertions: reads and removes what a test declared. */
export class BrokerProbe {
  private constructor(private readonly model: ChannelModel) {}

  static async connect(url = AMQP_URL): Promise<BrokerProbe> {
    return new BrokerProbe(await connect(url));
  }

  /** Takes (and acks) every message now in the queue. */
  async drain(queue: string): Promise<GetMessage[]> {
    const channel = await this.model.createChannel();
    const messages: GetMessage[] = [];
    try {
      for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
        messages.push(message);
        channel.ack(message);
      }
    } finally {
      await channel.close();
    }
    return messages;
  }

  async messageCount(queue: string): Promise<number> {
    const channel = await this.model.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  }

  async deleteQueue(queue: string): Promise<void> {
    const channel = await this.model.createChannel();
    try {
      await channel.deleteQueue(queue);
    } finally {
      await channel.close();
    }
  }

  /** Deletes the queues and exchanges the service declares for `prefix`. */
  async deleteTopology(prefix: string): Promise<void> {
    const topology = topologyFor(prefix);
    const channel = await this.model.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.deleteQueue(topology.queue);
      await channel.deleteQueue(topology.deadLetterQueue);
      await channel.deleteExchange(topology.exchange);
      await channel.deleteExchange(topology.deadLetterExchange);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

/** Sweeps every queue and exchange whose name starts with `prefix` (the run's), on the shared broker. */
export async function deleteQueuesWithPrefix(prefix: string): Promise<void> {
  const list = async (what: 'list_queues' | 'list_exchanges') =>
    (await run('rabbitmqctl', ['-q', what, 'name'])).stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => name.startsWith(prefix));
  const model = await connect(AMQP_URL);
  try {
    for (const queue of await list('list_queues')) {
      const channel = await model.createChannel();
      await channel.deleteQueue(queue);
      await channel.close();
    }
    for (const exchange of await list('list_exchanges')) {
      const channel = await model.createChannel();
      await channel.deleteExchange(exchange);
      await channel.close();
    }
  } finally {
    await model.close();
  }
}

/**
 * A RabbitMQ node of the test's own, on its own port, so a fault test can stop and start the broker
 * without touching the machine's broker that other tests use. `stop()` always removes it.
 */
export class PrivateBroker {
  readonly url: string;
  private readonly node: string;
  private readonly dir: string;
  private started = false;

  constructor(readonly port: number) {
    this.node = `omnitest${port}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), 'omni-rabbit-'));
    // Started as root, rabbitmq-server drops to the rabbitmq user, which must own its directory.
    if (process.getuid?.() === 0) execFileSync('chown', ['rabbitmq:rabbitmq', this.dir]);
  }

  async start(): Promise<void> {
    const env = {
      ...process.env,
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.port + 20000),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
      RABBITMQ_PID_FILE: join(this.dir, 'pid'),
    };
    await run('rabbitmq-server', ['-detached'], { env });
    this.started = true;
    await run('rabbitmqctl', ['-n', this.node, 'wait', join(this.dir, 'pid'), '--timeout', '60'], { env });
    await waitFor(
      async () => {
        const model = await connect(this.url).catch(() => null);
        await model?.close();
        return model !== null;
      },
      { timeoutMs: 30000, what: 'private broker accepting AMQP' },
    );
  }

  /** Stops the RabbitMQ application (the Erlang node stays up): clients lose their connections. */
  async stopApp(): Promise<void> {
    await run('rabbitmqctl', ['-n', this.node, 'stop_app']);
  }

  async startApp(): Promise<void> {
    await run('rabbitmqctl', ['-n', this.node, 'start_app']);
  }

  /**
   * Sets the memory high watermark: 0 raises a memory alarm, so the broker blocks every publishing
   * connection and confirms nothing until it is raised again (0.4 is RabbitMQ's default).
   */
  async setMemoryWatermark(fraction: number): Promise<void> {
    await run('rabbitmqctl', ['-n', this.node, 'set_vm_memory_high_watermark', String(fraction)]);
  }

  async stop(): Promise<void> {
    if (this.started) await run('rabbitmqctl', ['-n', this.node, 'stop']).catch(() => undefined);
    this.started = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
