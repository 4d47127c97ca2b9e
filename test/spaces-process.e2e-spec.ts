import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { AMQP_URL, TEST_SECRET, runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * API spaces (docs/operations.md, section 4) with the built service (`node dist/main.js`) in a child process: SIGHUP reloads
 * WEBHOOK_SPACES_FILE, a broken file keeps the secrets in force and says why in the log (never a
 * secret), and the `<NAME>_FILE` variables (Docker secrets). Ports 3571-3574.
 */

const MAIN = process.env.E2E_SERVICE_MAIN ?? join(__dirname, '..', 'dist', 'main.js');
const OLD = 'space-a-secret-proc-000000001';
const NEW = 'space-a-secret-proc-000000002';
/** ServiceProcess passes these by default; `undefined` leaves a variable out of the child's environment. */
const UNSET = undefined as unknown as string;

const metric = async (url: string, series: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
};
const postAs = (url: string, secret: string) => {
  const body = JSON.stringify(envelope({ apiSpaceId: 'space-a' }));
  return postWebhook(url, body, { signature: sign(body, secret) });
};

/** Starts the built service with exactly `env` (plus PATH) and waits for it to exit by itself. */
function refusedStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', AMQP_URL, PORT: '3574', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not refuse to start:\n${output}`));
    }, 15000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    });
  });
}

describe('WEBHOOK_SPACES_FILE in the built service', () => {
  let dir: string;
  let file: string;
  let service: ServiceProcess;
  let probe: BrokerProbe;
  const prefix = uniquePrefix('spaces-sighup');
  const write = (text: string) => writeFileSync(file, text);
  const reloads = (result: string) =>
    metric(service.url, `webhook_secrets_reloads_total{result="${result}"}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spaces-proc-'));
    file = join(dir, 'spaces.json');
    write(JSON.stringify({ 'space-a': [OLD] }));
    probe = await BrokerProbe.connect();
    service = new ServiceProcess(3571, {
      APP_ROLE: 'api',
      AMQP_PREFIX: prefix,
      LOG_LEVEL: 'info',
      WEBHOOK_SPACES_FILE: file,
    });
    await service.start();
  });

  afterAll(async () => {
    await service?.dispose();
    await probe?.deleteTopology(prefix);
    await probe?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads on SIGHUP (and keeps running: SIGHUP no longer ends it)', async () => {
    expect((await postAs(service.url, OLD)).status).toBe(200);
    const before = await reloads('success');
    // Same content: only SIGHUP reloads it (a change event with nothing changed is not a reload).
    void service.kill('SIGHUP'); // resolves only when the process exits: not awaited
    await waitFor(async () => (await reloads('success')) === before + 1, { what: 'a reload on SIGHUP' });
    // The log line comes through the child's stdout pipe, which can trail the metric's HTTP answer.
    await waitFor(() => /"trigger":"SIGHUP"/.test(service.output), { what: 'the SIGHUP reload line' });
    write(JSON.stringify({ 'space-a': [OLD, NEW] }));
    await waitFor(async () => (await postAs(service.url, NEW)).status === 200, {
      what: 'the new secret accepted',
    });
    expect((await postAs(service.url, OLD)).status).toBe(200);
  });

  it('keeps the secrets in force when the file breaks, and logs why without a secret', async () => {
    const failures = await reloads('failure');
    write(`{"space-a": ["${NEW}", 42]}`);
    await waitFor(async () => (await reloads('failure')) === failures + 1, { what: 'a failed reload' });
    expect((await postAs(service.url, OLD)).status).toBe(200);
    expect((await postAs(service.url, NEW)).status).toBe(200);
    const line = await waitFor(
      () => service.output.split('\n').find((l) => l.includes('WEBHOOK_SPACES_FILE not reloaded')),
      { what: 'the failed reload line' },
    );
    expect(JSON.parse(line)).toMatchObject({
      file,
      trigger: 'change',
      reason: 'apiSpaceId "space-a", secret 2: must be a string, not a number',
    });
    // SIGHUP on the broken file: another failure, same secrets.
    void service.kill('SIGHUP'); // resolves only when the process exits: not awaited
    await waitFor(async () => (await reloads('failure')) === failures + 2, {
      what: 'a failed SIGHUP reload',
    });
    expect((await postAs(service.url, OLD)).status).toBe(200);
    for (const secret of [OLD, NEW, TEST_SECRET]) expect(service.output).not.toContain(secret);

    write(JSON.stringify({ 'space-a': [NEW] }));
    await waitFor(async () => (await postAs(service.url, OLD)).status === 401, {
      what: 'the old secret removed',
    });
    expect((await postAs(service.url, NEW)).status).toBe(200);
  });

  it('refuses to start on a bad file, naming the file and never a secret', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'space-a': [OLD, 42], '*': OLD }));
    const exit = await refusedStart({ WEBHOOK_SPACES_FILE: bad });
    expect(exit.code).toBe(1);
    expect(exit.output).toContain(
      `WEBHOOK_SPACES_FILE (${bad}): apiSpaceId "space-a", secret 2: must be a string, not a number`,
    );
    expect(exit.output).toContain('"*": must be a list of secrets');
    expect(exit.output).not.toContain(OLD);
  });

  it('accepts a short secret on reload, warning by its API space and never printing it', async () => {
    const short = 'a strong secret';
    write(JSON.stringify({ 'space-a': [NEW, short] }));
    await waitFor(async () => (await postAs(service.url, short)).status === 200, {
      what: 'the short secret accepted',
    });
    const line = await waitFor(
      () =>
        service.output
          .split('\n')
          .find((l) => l.includes('WEBHOOK_SPACES_FILE API space \\"space-a\\", secret 2: 15 characters')),
      { what: 'the short-secret warning of the reload' },
    );
    expect(JSON.parse(line)).toMatchObject({ level: 40 });
    expect(service.output).not.toContain(short);
  });
});

describe('<NAME>_FILE variables (Docker secrets)', () => {
  let dir: string;
  const secretFile = (name: string, value: string) => {
    const path = join(dir, name);
    writeFileSync(path, `${value}\n`);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'secret-files-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs with WEBHOOK_SECRETS_FILE, DATABASE_URL_FILE and AMQP_URL_FILE instead of the values', async () => {
    const secret = 'secret-from-a-docker-secret-01';
    const prefix = uniquePrefix('spaces-files');
    const service = new ServiceProcess(3572, {
      APP_ROLE: 'all',
      AMQP_PREFIX: prefix,
      WEBHOOK_SECRETS: UNSET,
      AMQP_URL: UNSET,
      WEBHOOK_SECRETS_FILE: secretFile('webhook_secrets', secret),
      DATABASE_URL_FILE: secretFile('database_url', runDatabaseUrl()),
      AMQP_URL_FILE: secretFile('amqp_url', AMQP_URL),
    });
    const probe = await BrokerProbe.connect();
    const db = await Db.connect();
    try {
      await service.start();
      const body = JSON.stringify(envelope());
      const res = await postWebhook(service.url, body, { signature: sign(body, secret) });
      expect(res.status).toBe(200);
      expect((await postWebhook(service.url, body)).status).toBe(401); // TEST_SECRET is not in force
      const deliveryId = res.headers.get('x-delivery-id')!;
      await waitFor(
        async () =>
          (await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])) === 1,
        { timeoutMs: 30000, what: 'the event stored through DATABASE_URL_FILE' },
      );
    } finally {
      await service.dispose();
      await probe.deleteTopology(prefix);
      await probe.close();
      await db.close();
    }
  });

  it.each([
    ['WEBHOOK_SECRETS', TEST_SECRET],
    ['DATABASE_URL', 'postgres://user:hidden-password@127.0.0.1:5432/x'],
    ['AMQP_URL', 'amqp://user:hidden-password@127.0.0.1:5672'],
  ])('refuses to start with both %s and its _FILE form, naming the variable', async (name, value) => {
    const exit = await refusedStart({
      WEBHOOK_SECRETS: TEST_SECRET,
      [name]: value,
      [`${name}_FILE`]: secretFile(`${name}-both`, value),
    });
    expect(exit.code).toBe(1);
    expect(exit.output).toContain(`${name}: set both ${name} and ${name}_FILE; use one of them`);
    expect(exit.output).not.toContain(value);
  });
});
