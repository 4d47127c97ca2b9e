import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every child the bench started, so an exit of any kind can kill what is left. */
const children = new Set<ChildProcess>();
/** SIGKILLs every child still running (also on any exit of the bench). */
export function killAll(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.on('exit', killAll);

export interface ProcessSpec {
  name: string;
  port: number;
  /** The executable: node (the bench's own) unless set, e.g. nginx. */
  command?: string;
  /** Arguments after `node` (or `command`). */
  args: string[];
  env: Record<string, string>;
  /** Path answering 200 once the process can take deliveries. */
  readyPath: string;
}

/** A server under test as a child process, with its memory and CPU read from /proc. */
export class ServerProcess {
  private child?: ChildProcess;
  private exit?: Promise<void>;
  private tail = '';
  /** Highest VmHWM seen over every process started through this object (KiB). */
  lifetimePeakKiB = 0;

  constructor(readonly spec: ProcessSpec) {}

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error(`${this.spec.name} is not running`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KiB of its output, for error messages. */
  get output(): string {
    return this.tail;
  }

  async start(extraEnv: Record<string, string> = {}, extraArgs: string[] = []): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} already running`);
    this.tail = '';
    const child = spawn(this.spec.command ?? process.execPath, [...extraArgs, ...this.spec.args], {
      env: { PATH: process.env.PATH ?? '', ...this.spec.env, ...extraEnv, PORT: String(this.spec.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const keep = (chunk: Buffer) => (this.tail = (this.tail + chunk.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    this.exit = new Promise((resolve) =>
      child.once('exit', () => {
        children.delete(child);
        resolve();
      }),
    );
    const deadline = Date.now() + 60000;
    for (;;) {
      if (!this.running) throw new Error(`${this.spec.name} exited during start-up:\n${this.tail}`);
      try {
        const res = await fetch(`${this.url}${this.spec.readyPath}`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.spec.name} not ready within 60 s:\n${this.tail}`);
      await sleep(100);
    }
  }

  /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after `graceMs`. */
  async stop(graceMs = 20000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child || !this.exit) return;
    if (this.running) {
      this.lifetimePeakKiB = Math.max(this.lifetimePeakKiB, this.status().hwmKiB);
      this.child.kill(signal);
      const killed = await Promise.race([this.exit.then(() => false), sleep(graceMs).then(() => true)]);
      if (killed) {
        this.child.kill('SIGKILL');
        await this.exit;
      }
    }
    this.child = undefined;
  }

  /** VmRSS and VmHWM (peak resident set) of the running process, KiB. */
  status(): { rssKiB: number; hwmKiB: number } {
    const text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  }

  /** User + system CPU time of the process so far, seconds. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15; clock ticks are 100 Hz on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Polls VmRSS every 100 ms until the returned function is called; that returns the peak in KiB. */
  sampleRss(): () => number {
    let peak = 0;
    const read = () => {
      try {
        peak = Math.max(peak, this.status().rssKiB);
      } catch {
        // exited
      }
    };
    read();
    const timer = setInterval(read, 100);
    return () => {
      clearInterval(timer);
      read();
      this.lifetimePeakKiB = Math.max(this.lifetimePeakKiB, peak);
      return peak;
    };
  }
}

/**
 * Runs a bench's `main`, and on failure or on SIGINT/SIGTERM kills every child and runs `cleanUp`
 * (databases, queues) before exiting (1 on failure, 130 when interrupted; a second signal forces
 * the exit). `onSignal` notes the interruption first (e.g. for the report).
 */
export function runBench(
  name: string,
  main: () => Promise<void>,
  cleanUp: () => Promise<unknown> | undefined,
  onSignal: (signal: NodeJS.Signals) => void = () => undefined,
): void {
  const log = (message: string) =>
    process.stderr.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  const stop = (code: number) => {
    killAll();
    void Promise.resolve(cleanUp()).finally(() => process.exit(code));
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      log(`${signal}: stopping; cleaning up (again to force)`);
      onSignal(signal);
      stop(130);
    });
  }
  main().catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    stop(1);
  });
}
