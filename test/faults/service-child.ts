import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/poll';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The built service (`node dist/main.js`) as one replica of the fault topology: an api or a worker,
 * started, killed (-9), SIGTERMed and started again on the same port. Its output goes to a log file
 * of the run (kept for diagnosis), never into memory.
 */
export class ServiceChild {
  private child?: ChildProcess;
  private exit?: Promise<ChildExit>;
  private log?: WriteStream;
  starts = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly main: string,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until /health/ready answers 200 (bounded). */
  async start(readyTimeoutMs = 60000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts += 1;
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    this.log.write(`--- ${new Date().toISOString()} start #${this.starts}\n`);
    const child = spawn(process.execPath, [this.main], {
      env: { PATH: process.env.PATH ?? '', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.log?.write(`--- ${new Date().toISOString()} exit ${JSON.stringify({ code, signal })}\n`);
        resolve({ code, signal });
      }),
    );
    await this.waitReady(readyTimeoutMs);
  }

  async waitReady(timeoutMs = 60000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`${this.name} exited`);
        const res = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 100, what: `${this.name} ready` },
    );
  }

  /** SIGKILL, like a crash or the OOM killer. */
  async kill(): Promise<ChildExit> {
    return this.signal('SIGKILL', 10000);
  }

  /** SIGTERM and wait for the graceful exit (bounded; SIGKILL past it). */
  async terminate(timeoutMs = 30000): Promise<ChildExit> {
    return this.signal('SIGTERM', timeoutMs);
  }

  private async signal(signal: NodeJS.Signals, timeoutMs: number): Promise<ChildExit> {
    if (!this.child || !this.exit) throw new Error(`${this.name} was never started`);
    if (this.running) this.child.kill(signal);
    const exit = await Promise.race([this.exit, sleep(timeoutMs).then(() => null)]);
    if (exit) return exit;
    this.child.kill('SIGKILL');
    await this.exit;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
  }

  /** For cleanup: nothing left running, log closed. */
  async dispose(): Promise<void> {
    if (this.running) await this.kill().catch(() => undefined);
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
    this.log = undefined;
  }
}
