import { connect } from 'amqplib';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './poll';

const run = promisify(execFile);

/**
 * A RabbitMQ node of a fault run's own, which can be killed like a crash (SIGKILL to its Erlang VM)
 * and started again on the same data directory, alarmed (memory, disk), and clustered with other
 * such nodes. Unlike PrivateBroker it keeps its data across a kill, and names itself after `name`
 * so several can run side by side (each its own AMQP port and distribution port; all share the
 * rabbitmq user's Erlang cookie, as the nodes of one cluster must). `destroy()` stops it and
 * removes its directory.
 */
export class RabbitNode {
  readonly url: string;
  readonly node: string;
  private readonly dir: string;
  private started = false;

  constructor(
    readonly port: number,
    name = `omnifault${port}`,
    readonly distPort = port + 20000,
  ) {
    this.node = `${name}@localhost`;
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), `omni-rabbit-${port}-`));
    // Started as root, rabbitmq-server drops to the rabbitmq user, which must own its directory.
    if (process.getuid?.() === 0) execFileSync('chown', ['rabbitmq:rabbitmq', this.dir]);
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
      RABBITMQ_PID_FILE: this.pidFile,
    };
  }

  private get pidFile(): string {
    return join(this.dir, 'pid');
  }

  /** Starts the node (again, on the same data after a kill) and waits until it accepts AMQP. */
  async start(timeoutMs = 90000): Promise<void> {
    rmSync(this.pidFile, { force: true });
    await run('rabbitmq-server', ['-detached'], { env: this.env });
    this.started = true;
    await this.ctl(['wait', this.pidFile, '--timeout', String(Math.round(timeoutMs / 1000))], timeoutMs);
    await this.waitForAmqp(timeoutMs);
  }

  async waitForAmqp(timeoutMs = 60000): Promise<void> {
    await waitFor(
      async () => {
        const model = await connect(this.url).catch(() => null);
        await model?.close().catch(() => undefined);
        return model !== null;
      },
      { timeoutMs, intervalMs: 200, what: `${this.node} accepting AMQP` },
    );
  }

  /** The pid of the node's Erlang VM (beam.smp), from its pid file; null when there is none. */
  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  }

  /** SIGKILL to the Erlang VM, like a crash or the OOM killer; waits until the process is gone. */
  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid === null) throw new Error(`${this.node} has no pid file`);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 10000, what: `${this.node} (pid ${pid}) gone` },
    );
  }

  /** Runs rabbitmqctl against this node. */
  async ctl(args: string[], timeoutMs = 60000): Promise<string> {
    const { stdout } = await run('rabbitmqctl', ['-n', this.node, ...args], {
      env: this.env,
      timeout: timeoutMs,
    });
    return stdout;
  }

  /** Runs rabbitmq-queues against this node. */
  async queues(args: string[], timeoutMs = 60000): Promise<string> {
    const { stdout } = await run('rabbitmq-queues', ['-n', this.node, ...args], {
      env: this.env,
      timeout: timeoutMs,
    });
    return stdout;
  }

  /** 0 raises a memory alarm: every publishing connection is blocked (0.4 is RabbitMQ's default). */
  async setMemoryWatermark(fraction: number): Promise<void> {
    await this.ctl(['set_vm_memory_high_watermark', String(fraction)]);
  }

  /** A limit above the free space raises a disk alarm; `50MB` is RabbitMQ's default. */
  async setDiskFreeLimit(limit: string): Promise<void> {
    await this.ctl(['set_disk_free_limit', limit]);
  }

  /** Joins the cluster of `seed` (this node's application is stopped and started around it). */
  async joinCluster(seed: RabbitNode): Promise<void> {
    await this.ctl(['stop_app']);
    await this.ctl(['join_cluster', seed.node]);
    await this.ctl(['start_app']);
    await this.waitForAmqp();
  }

  /** Stops the node (or what is left of it) and removes its directory. */
  async destroy(): Promise<void> {
    if (this.started) await this.ctl(['stop'], 30000).catch(() => undefined);
    const pid = this.pid();
    if (pid !== null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.started = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
