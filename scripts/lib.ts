/**
 * Shared pieces of the proof scripts (verify-image, verify-compose, verify-nginx): they run in CI
 * against the machine's PostgreSQL and RabbitMQ (verify-image with a Docker engine, the others
 * without one), and clean up after themselves even when a check fails.
 */
import { connect } from 'amqplib';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { topologyFor } from '../src/messaging/topology';
import { waitFor as poll } from '../test/support/poll';
import { databaseUrl, withAdmin } from '../test/support/scratch-database';

export const REPO = resolve(__dirname, '..');
export const ADMIN_DATABASE_URL =
  process.env.VERIFY_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const AMQP_URL = process.env.VERIFY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** A secret for these checks only (never a real one). */
export const SECRET = 'verify-script-secret-0123456789abcdef';

export function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
}

export class CheckFailed extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
  log(`ok: ${message}`);
}

export function sign(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

/** Polls until `probe` returns a truthy value (test/support/poll.ts); a timeout is a failed check. */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  what: string,
  timeoutMs = 30000,
  intervalMs?: number,
): Promise<NonNullable<T>> {
  try {
    return await poll(probe, { what, timeoutMs, intervalMs });
  } catch (err) {
    throw new CheckFailed((err as Error).message);
  }
}

/** Cleanup steps run in reverse order, once, on success, failure or Ctrl-C. */
export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** A second caller (the script failing because Ctrl-C's cleanup pulled things away) waits for the first. */
  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        console.error(`cleanup "${step.what}" failed: ${(err as Error).message}`);
      }
    }
  }
}

/** Runs `main` with a Cleanup; exits 0 when every check passed, 1 otherwise. */
export function runScript(name: string, main: (cleanup: Cleanup) => Promise<void>): void {
  const cleanup = new Cleanup();
  const started = Date.now();
  Promise.resolve()
    .then(() => main(cleanup))
    .then(async () => {
      await cleanup.run();
      log(`${name}: all checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(0);
    })
    .catch(async (err: unknown) => {
      await cleanup.run();
      const detail =
        err instanceof CheckFailed
          ? err.message
          : err instanceof Error
            ? (err.stack ?? err.message)
            : String(err);
      console.error(`${name}: FAILED: ${detail}`);
      process.exit(1);
    });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is kept (and shown when a check fails). */
export class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  output = '';

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: SpawnOptions,
  ) {
    // Its own process group, so cleanup reaches whatever it started (nginx's workers, for one).
    this.process = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.process.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolveExit) =>
      this.process.once('exit', (code, signal) => resolveExit({ code, signal })),
    );
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends `signal` and waits (bounded) for the exit. */
  async stop(signal: NodeJS.Signals, timeoutMs = 30000): Promise<Exit> {
    if (this.running) this.process.kill(signal);
    const timeout = sleep(timeoutMs).then(() => null);
    const exit = await Promise.race([this.exited, timeout]);
    if (exit === null) {
      await this.kill();
      throw new CheckFailed(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return exit;
  }

  /**
   * For cleanup: makes sure it and its process group are gone. `graceful` is tried first (for nginx:
   * its master then stops and reaps its workers); SIGKILL to the group after 5 s.
   */
  async kill(graceful?: NodeJS.Signals): Promise<void> {
    const { pid } = this.process;
    if (pid === undefined) return;
    if (graceful && this.running) {
      this.process.kill(graceful);
      await Promise.race([this.exited, sleep(5000)]);
    }
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    if (this.running) await this.exited;
  }

  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}

/** A database of the script's own on the machine's PostgreSQL. */
export async function createDatabase(cleanup: Cleanup, tag: string): Promise<string> {
  const name = `verify_${tag}_${randomTag()}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`), ADMIN_DATABASE_URL);
  cleanup.add(`drop database ${name}`, () =>
    withAdmin(
      (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      ADMIN_DATABASE_URL,
    ).then(() => undefined),
  );
  return databaseUrl(name, ADMIN_DATABASE_URL);
}

export async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** An AMQP prefix of the script's own; its queues and exchanges are deleted on cleanup. */
export function amqpPrefix(cleanup: Cleanup, tag: string): string {
  const prefix = `verify-${tag}-${randomTag()}`;
  cleanup.add(`delete AMQP topology ${prefix}`, () => deleteTopology(prefix));
  return prefix;
}

export async function deleteTopology(prefix: string): Promise<void> {
  const topology = topologyFor(prefix);
  const model = await connect(AMQP_URL);
  try {
    for (const queue of [topology.queue, topology.deadLetterQueue]) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of [topology.exchange, topology.deadLetterExchange]) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await model.close();
  }
}

/** The number of ready messages in `queue`. */
export async function messageCount(queue: string): Promise<number> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await model.close();
  }
}

/** Takes every message now in `queue` (a consumer with a prefetch: one basic.get each is slow). */
export async function drainQueue(queue: string): Promise<Buffer[]> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    const { messageCount: expected } = await channel.checkQueue(queue);
    const bodies: Buffer[] = [];
    if (expected === 0) return bodies;
    await channel.prefetch(500);
    await new Promise<void>((resolveDrain, reject) => {
      const timer = setTimeout(
        () => reject(new CheckFailed(`drained ${bodies.length} of ${expected} messages`)),
        30000,
      );
      void channel.consume(queue, (message) => {
        if (!message) return;
        bodies.push(message.content);
        channel.ack(message);
        if (bodies.length === expected) {
          clearTimeout(timer);
          resolveDrain();
        }
      });
    });
    return bodies;
  } finally {
    await model.close();
  }
}

/** The value of one sample (`name{labels}` exactly as exposed) of a Prometheus text exposition. */
export function metricSample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new CheckFailed(`no sample ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** The built entry point the nginx check runs (VERIFY_SERVICE_MAIN for a private build). */
export function serviceMain(): string {
  return process.env.VERIFY_SERVICE_MAIN ?? join(REPO, 'dist', 'main.js');
}

/** A well-formed envelope with a unique eventId. */
export function envelope(eventId: string): Record<string, unknown> {
  return {
    eventId,
    accountId: 40213,
    apiSpaceId: 'space-verify',
    name: 'message.sent',
    payload: { messageId: `msg-${eventId}` },
    revision: 1,
    etag: '"1c-verify"',
    timestamp: new Date().toISOString(),
  };
}
