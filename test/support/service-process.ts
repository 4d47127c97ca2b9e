import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { AMQP_URL, TEST_SECRET } from './env';
import { waitFor } from './poll';

/** The built entry point; E2E_SERVICE_MAIN points elsewhere (e.g. a private build) when set. */
const MAIN = process.env.E2E_SERVICE_MAIN ?? join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * The built service (`node dist/main.js`, as in production) in a child process, for tests that
 * send it signals (SIGTERM, SIGKILL). Needs `npm run build` first.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = '';

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(readyPath = '/health/ready'): Promise<void> {
    this.output = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        WEBHOOK_SECRETS: TEST_SECRET,
        AMQP_URL,
        LOG_LEVEL: 'warn',
        ...this.env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const stopped: { how?: string } = {};
    void this.exit.then(({ code, signal }) => (stopped.how = `code ${code}, signal ${signal}`));
    // A process that stopped (e.g. refused its configuration) will not become ready: say so at once.
    // Either way the failure carries what the service printed.
    await waitFor(
      async () => stopped.how !== undefined || (await fetch(`${this.url}${readyPath}`)).status === 200,
      {
        timeoutMs: 30000,
        what: `service on port ${this.port} ready`,
      },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.output}`);
    });
    if (stopped.how !== undefined) {
      throw new Error(
        `service on port ${this.port} exited before it was ready (${stopped.how}):\n${this.output}`,
      );
    }
  }

  /** Sends `signal` and waits for the process to exit; returns how it exited. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.child || !this.exit) throw new Error('not started');
    this.child.kill(signal);
    return this.exit;
  }

  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exit) throw new Error('not started');
    return this.exit;
  }

  /** Makes sure nothing is left running (for afterAll). */
  async dispose(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null)
      await this.kill('SIGKILL');
  }
}
