import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerProbe } from './support/broker';
import { AMQP_URL, TEST_SECRET, runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { envelope, postWebhook } from './support/signing';

/**
 * `npm start` under SIGTERM sent to npm (what a process manager or `kill <pid>` does): the service
 * must drain and exit, and nothing may be left running. npm (10 and 11) forwards SIGTERM to the
 * script's process and waits for it; with `"start": "node dist/main.js"` that process was `sh -c`,
 * which died at once and left node orphaned, never told to drain. `exec` makes node the script's
 * process. Needs the build (dist/). Port 3860.
 */
const REPO = join(__dirname, '..');
const PORT = 3860;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the direct children of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

const commandLine = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();

describe('npm start and SIGTERM', () => {
  const prefix = uniquePrefix('npm-start');
  let servicePid: number | undefined;

  afterAll(async () => {
    if (servicePid !== undefined && alive(servicePid)) process.kill(servicePid, 'SIGKILL');
    const probe = await BrokerProbe.connect();
    await probe.deleteTopology(prefix);
    await probe.close();
  });

  it('SIGTERM to npm: the service drains, exits 0, npm exits 0, and nothing is left running', async () => {
    const npm = spawn('npm', ['start'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        npm_config_update_notifier: 'false',
        WEBHOOK_SECRETS: TEST_SECRET,
        DATABASE_URL: runDatabaseUrl(),
        AMQP_URL,
        AMQP_PREFIX: prefix,
        PORT: String(PORT),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const url = `http://127.0.0.1:${PORT}`;
    try {
      await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, {
        timeoutMs: 60000,
        what: 'npm start: service ready',
      });
      // The service is npm's own child (no shell in between): the process npm forwards signals to.
      const children = childrenOf(npm.pid!);
      expect(children).toHaveLength(1);
      servicePid = children[0];
      expect(commandLine(servicePid)).toMatch(/node .*dist\/main\.js$/);

      const delivery = envelope();
      const res = await postWebhook(url, JSON.stringify(delivery));
      expect(res.status).toBe(200);

      npm.kill('SIGTERM');
      const exit = await exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(output).toContain('SIGTERM received: shutting down');
      expect(output).toContain('shut down cleanly');
      expect(alive(servicePid)).toBe(false);
      await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
    }
  }, 120_000);
});
