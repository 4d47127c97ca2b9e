import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AMQP_URL, TEST_SECRET } from './support/env';

/** The built entry point (as in production); E2E_SERVICE_MAIN points to a private build when set. */
const MAIN = process.env.E2E_SERVICE_MAIN ?? join(__dirname, '..', 'dist', 'main.js');

/** Longest a refused start may take before the test gives up and kills it. */
const START_REFUSAL_LIMIT_MS = 15_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built service with exactly `env` (plus PATH) and waits for it to exit on its own. */
function runService(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', AMQP_URL, PORT: '3101', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not exit within ${START_REFUSAL_LIMIT_MS} ms:\n${stdout}${stderr}`));
    }, START_REFUSAL_LIMIT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('start-up configuration check (the built service)', () => {
  it('refuses to start without WEBHOOK_SECRETS and names the variable', async () => {
    const exit = await runService({});
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.stderr).toMatch(/WEBHOOK_SECRETS/);
  });

  it('refuses a WEBHOOK_SECRETS that names no secret and says so', async () => {
    const exit = await runService({ WEBHOOK_SECRETS: ' , ' });
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.stderr).toMatch(/WEBHOOK_SECRETS: must name at least one secret/);
  });

  it("refuses an admin key under 32 characters (the service's own policy), never printing a key", async () => {
    const short = 'k'.repeat(31);
    const exit = await runService({ WEBHOOK_SECRETS: TEST_SECRET, ADMIN_API_KEYS: short });
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/ADMIN_API_KEYS: every key must be at least 32 characters/);
    expect(exit.stderr + exit.stdout).not.toContain(short);
    expect(exit.stderr + exit.stdout).not.toContain(TEST_SECRET);
  });

  it('refuses APP_ROLE=bogus and names APP_ROLE', async () => {
    const exit = await runService({ WEBHOOK_SECRETS: TEST_SECRET, APP_ROLE: 'bogus' });
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(exit.stderr).toMatch(/APP_ROLE/);
    expect(exit.stderr + exit.stdout).not.toContain(TEST_SECRET);
  });

  it('refuses an unparsable DATABASE_URL and names it', async () => {
    const exit = await runService({ WEBHOOK_SECRETS: TEST_SECRET, DATABASE_URL: 'not a url' });
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/DATABASE_URL/);
  });
});
