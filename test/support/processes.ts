/**
 * Child processes that are cleaned up whatever happens: the deploy proofs (test/deploy/) and the
 * fault schedule (test/faults/) start nginx, the built service and docker containers, and must leave
 * nothing running when a check fails.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** Cleanup steps run in reverse order, once, on success or failure (and on Ctrl-C when asked). */
export class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  /** `exitOnSignals`: a command-line run cleans up and exits on SIGINT/SIGTERM (jest has its own). */
  constructor({ exitOnSignals = false }: { exitOnSignals?: boolean } = {}) {
    if (exitOnSignals) {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          void this.run().finally(() => process.exit(130));
        });
      }
    }
  }

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  /** A second caller (a failure because Ctrl-C's cleanup pulled things away) waits for the first. */
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
    // Unref'd: a test runner waiting on a pending timer would not exit.
    const timeout = sleep(timeoutMs, null, { ref: false });
    const exit = await Promise.race([this.exited, timeout]);
    if (exit === null) {
      await this.kill();
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
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
      await Promise.race([this.exited, sleep(5000, null, { ref: false })]);
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
