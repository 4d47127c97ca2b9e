import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli } from './cli.args';
import { runCli } from './cli.command';
import { parseDuration } from './duration';
import { OptionsError, resolveOptions } from './simulation.options';

describe('parseCli', () => {
  const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const command = parseCli(argv, env);
    if (command.kind !== 'run') throw new Error('expected a run');
    return command;
  };

  it('leaves absent flags to the documented defaults', () => {
    const options = resolveOptions(run([], { SIMULATOR_SECRET: 'from-env-secret-0001' }).options);
    expect(options).toMatchObject({
      url: 'http://127.0.0.1:3000',
      secret: 'from-env-secret-0001',
      events: 1000,
      requestTimeoutMs: 10_000,
      timeScale: 1,
      concurrency: 8,
      batchSize: 100,
      feedPrefix: 'omnichannel',
      settleTimeoutMs: 60_000,
      familyShare: 0.1,
      messageIdShare: 0.05,
      on401: 'drop',
    });
  });

  it('reads --on-401, --family-share and --message-id-share, and refuses an --on-401 other than drop or retry', () => {
    const options = resolveOptions(
      run(['--secret', 's', '--on-401', 'retry', '--family-share', '0.3', '--message-id-share', '0']).options,
    );
    expect(options).toMatchObject({ on401: 'retry', familyShare: 0.3, messageIdShare: 0 });
    expect(() => resolveOptions(run(['--secret', 's', '--on-401', 'ignore']).options)).toThrow('on401');
  });

  it('reads every flag, durations and lists included; a flag wins over the environment', () => {
    const command = run(
      [
        '--url=https://hooks.example.com',
        '--secret',
        'flag-secret-000001',
        '--events',
        '50',
        '--api-spaces',
        'a, b',
        '--batch-size',
        '500',
        '--batch-share',
        '1',
        '--repeat-share',
        '0.3',
        '--concurrency',
        '2',
        '--rate',
        '20',
        '--timeout',
        '2.5s',
        '--time-scale',
        '0.01',
        '--seed',
        '9',
        '--ledger',
        'l.json',
        '--check-database',
        'postgres://db/x',
        '--check-admin',
        'http://admin',
        '--check-feed',
        'amqp://mq',
        '--feed-prefix',
        'p',
        '--settle-timeout',
        '2m',
        '--json',
        '--quiet',
      ],
      { SIMULATOR_SECRET: 'env-secret-0000001', SIMULATOR_ADMIN_KEY: 'env-admin-key' },
    );
    expect(command).toMatchObject({ json: true, quiet: true });
    expect(resolveOptions(command.options)).toMatchObject({
      url: 'https://hooks.example.com',
      secret: 'flag-secret-000001',
      events: 50,
      apiSpaces: ['a', 'b'],
      batchSize: 500,
      batchShare: 1,
      repeatShare: 0.3,
      concurrency: 2,
      ratePerSecond: 20,
      requestTimeoutMs: 2500,
      timeScale: 0.01,
      seed: 9,
      ledgerFile: 'l.json',
      checkDatabase: 'postgres://db/x',
      checkAdmin: 'http://admin',
      adminKey: 'env-admin-key',
      checkFeed: 'amqp://mq',
      feedPrefix: 'p',
      settleTimeoutMs: 120_000,
    });
  });

  it('rejects unknown flags, non-numbers and out-of-range values with the flag named', () => {
    expect(() => parseCli(['--evnets', '5'], {})).toThrow(OptionsError);
    expect(() => parseCli(['--events', 'many'], {})).toThrow('--events: "many" is not a number');
    expect(() => parseCli(['--timeout', 'soon'], {})).toThrow('--timeout: "soon" is not a duration');
    expect(() => resolveOptions(run(['--secret', 's', '--batch-size', '501']).options)).toThrow('batchSize');
    expect(() => resolveOptions(run([]).options)).toThrow('a webhook secret is required');
    expect(() => resolveOptions(run(['--secret', 's', '--check-admin', 'http://a']).options)).toThrow(
      'needs an admin key',
    );
  });

  it('answers --help and -h', () => {
    expect(parseCli(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCli(['-h'], {})).toEqual({ kind: 'help' });
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['10', 10_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
  ])('%s is %i ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('returns null for anything else', () => {
    expect(parseDuration('-1s')).toBeNull();
    expect(parseDuration('1d')).toBeNull();
  });
});

describe('runCli against a stand-in service', () => {
  let server: Server;
  let url: string;
  let status = 200;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => res.writeHead(status).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function cli(argv: string[]) {
    const out = { stdout: '', stderr: '' };
    const code = await runCli(
      argv,
      { SIMULATOR_SECRET: 'stand-in-secret-000001' },
      {
        stdout: (text) => (out.stdout += text),
        stderr: (text) => (out.stderr += text),
      },
    );
    return { code, ...out };
  }

  it('exits 0 with a JSON verdict when every delivery was acknowledged, and writes the ledger', async () => {
    status = 200;
    const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
    try {
      const ledger = join(dir, 'ledger.json');
      const { code, stdout } = await cli(['--url', url, '--events', '40', '--json', '--ledger', ledger]);
      expect(code).toBe(0);
      const verdict = JSON.parse(stdout);
      expect(verdict).toMatchObject({ balanced: true, failures: [], acknowledged: { events: 40 } });
      const file = JSON.parse(readFileSync(ledger, 'utf8'));
      expect(file.events).toHaveLength(40);
      expect(file.deliveries).toHaveLength(verdict.run.deliveries);
      expect(JSON.stringify(file)).not.toContain('stand-in-secret-000001');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with the loss in the table when the service answers 401', async () => {
    status = 401;
    const { code, stdout } = await cli(['--url', url, '--events', '10', '--time-scale', '0']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Dotdigital sender simulation: NOT BALANCED/);
    expect(stdout).toContain(
      'FAIL  10 events lost: no delivery carrying them was acknowledged (refused (401))',
    );
  });

  it('exits 2 without sending anything when the options or the ledger path are unusable', async () => {
    const before = requests;
    expect((await cli(['--url', url, '--events', '0'])).code).toBe(2);
    const unwritable = await cli(['--url', url, '--ledger', join(tmpdir(), 'no-such-dir', 'deep', 'l.json')]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toContain('ledger file:');
    expect(requests).toBe(before);
  });

  it('prints the help', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--check-database <url>');
  });
});
