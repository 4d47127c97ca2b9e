/**
 * Proves the README's route without Docker on a fresh clone: copies the repository as a clone would
 * have it (tracked files plus new ones git does not ignore: no node_modules, dist or .env) to a
 * temporary directory and runs the README's `sh` blocks marked for it, in order, in one environment,
 * against this machine's PostgreSQL and RabbitMQ:
 *
 *   <!-- readme-check -->            the next ```sh block is run with bash -euo pipefail; it must exit 0
 *   <!-- readme-check: service -->   the next ```sh block (one command) is started in the background;
 *                                    the blocks after it wait for its /health/ready, and at the end it
 *                                    gets SIGTERM and must drain and exit 0
 *
 * Each block runs in the environment the previous one left, as in one shell: its variables carry over
 * (every block runs with `set -a`, so a plain `SECRET=...` does too). Scratch names: the database `omnichannel_dev` of the README becomes a database of this run
 * (created by the README's own createdb, dropped afterwards), and the clone's .env.example gets an
 * AMQP_PREFIX of this run (its queues and exchanges are deleted afterwards). Checks: `npm ci` prints no
 * warning; every signed `curl -i` is answered 200 {"accepted":1,...}; every eventId the blocks send
 * (inline, or in a fixture sent with --data-binary @file) is stored in webhook_events; each psql block
 * finds its row; the README's configuration table names every variable of the environment schema,
 * and its compose secret is the compose file's.
 *
 * Needs PostgreSQL (user postgres without a password on 127.0.0.1:5432), RabbitMQ, port 3000 free,
 * and the npm registry (or its cache) for `npm ci`.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { envSchema } from '../../src/config/env.schema';
import { waitFor } from '../support/poll';
import { Child, Cleanup } from '../support/processes';
import { databaseUrl, withAdmin } from '../support/scratch-database';
import { REPO, amqpPrefix, query, randomTag, verify } from './support';

const README_DATABASE = 'omnichannel_dev';
const README_PORT = 3000;

interface Block {
  kind: 'run' | 'service';
  text: string;
  line: number;
}

/** The marked ```sh blocks of the README, in order. */
function markedBlocks(readme: string): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*readme-check(?::\s*(service))?\s*-->\s*$/.exec(lines[i]);
    if (!marker) continue;
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? ''))
      throw new Error(`README.md:${i + 1}: a readme-check marker must stand right before a \`\`\`sh block`);

    const end = lines.findIndex((line, j) => j > i + 1 && line.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 2}: the marked block is not closed`);
    blocks.push({
      kind: marker[1] ? 'service' : 'run',
      text: lines.slice(i + 2, end).join('\n'),
      line: i + 3,
    });
    i = end;
  }
  return blocks;
}

/** Copies what a clone of this working tree would hold (tracked and new unignored files). */
function freshClone(into: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file.length > 0);
  let copied = 0;
  for (const file of files) {
    const from = join(REPO, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(from, join(into, file));
    copied++;
  }
  verify(copied > 0, 'the clone has files');
  expect([existsSync(join(into, 'node_modules')), existsSync(join(into, 'dist'))]).toEqual([false, false]);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Runs one block with bash in `env`: its exit code, its output and the environment it leaves. */
function runBlock(
  block: Block,
  cwd: string,
  env: NodeJS.ProcessEnv,
  envFile: string,
): Promise<{ code: number | null; output: string; env: NodeJS.ProcessEnv }> {
  const script = `set -a -euo pipefail\n${block.text}\nenv -0 > ${JSON.stringify(envFile)}\n`;
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      const left: NodeJS.ProcessEnv = {};
      if (code === 0) {
        for (const entry of readFileSync(envFile, 'utf8').split('\0')) {
          const at = entry.indexOf('=');
          if (at > 0) left[entry.slice(0, at)] = entry.slice(at + 1);
        }
      }
      // bash's own bookkeeping is not the shell's environment.
      for (const name of ['SHLVL', '_', 'PWD', 'OLDPWD']) delete left[name];
      resolve({ code, output, env: left });
    });
  });
}

/** The eventIds a block sends: inline in its body, or in the fixture files it posts with @file. */
function eventIdsSent(block: Block, cwd: string): string[] {
  const inline = [...block.text.matchAll(/"eventId":\s*"([^"]+)"/g)].map((m) => m[1]);
  const files = [...block.text.matchAll(/--data-binary @(\S+)/g)].flatMap((m) =>
    [...readFileSync(join(cwd, m[1]), 'utf8').matchAll(/"eventId":\s*"([^"]+)"/g)].map((id) => id[1]),
  );
  return [...inline, ...files];
}

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const blocks = markedBlocks(readme);

describe('README.md, what it says', () => {
  it.each(Object.keys(envSchema.shape))('the configuration table names %s', (name) => {
    expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });

  it('explains <NAME>_FILE', () => {
    expect(readme).toContain('`<NAME>_FILE`');
  });

  it("names the compose stack's secret", () => {
    const compose = readFileSync(join(REPO, 'docker', 'docker-compose.yml'), 'utf8');
    // The compose stack's dev-only secret: a default in the file, or the Docker secret file it mounts.
    const secretFile = /^\s+webhook_secrets:\s*\n\s+file:\s*(\S+)/m.exec(compose)?.[1];
    const composeSecret =
      /WEBHOOK_SECRETS: \$\{WEBHOOK_SECRETS:-([^}]+)\}/.exec(compose)?.[1] ??
      (secretFile
        ? readFileSync(join(REPO, 'docker', secretFile), 'utf8')
            .trim()
            .split(',')[0]
        : undefined);
    expect(composeSecret).toBeDefined();
    expect(readme).toContain(composeSecret);
  });

  it("signs its example with .env.example's secret and posts to .env.example's port", () => {
    const envExample = readFileSync(join(REPO, '.env.example'), 'utf8');
    const exampleSecret = /^WEBHOOK_SECRETS=(.+)$/m.exec(envExample)?.[1];
    expect(exampleSecret).toBeDefined();
    expect(readme).toContain(`SECRET=${exampleSecret}`);
    expect(envExample).toMatch(/^PORT=3000$/m);
    expect(readme).toContain(`localhost:${README_PORT}/webhook`);
  });

  it(`marks its blocks, one of them the service, and uses the database ${README_DATABASE}`, () => {
    expect(blocks.filter((b) => b.kind === 'service')).toHaveLength(1);
    expect(readme).toContain(README_DATABASE);
  });
});

describe("README.md's route without Docker, on a fresh clone", () => {
  const cleanup = new Cleanup();
  const serviceUrl = `http://127.0.0.1:${README_PORT}`;
  const database = `deploy_readme_${randomTag()}`;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let service: Child | undefined;
  const sent: string[] = [];

  afterAll(() => cleanup.run());

  it(`starts from a copy of what a clone holds, its own AMQP prefix and database, port ${README_PORT} free`, async () => {
    expect(await portIsFree(README_PORT)).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'deploy-readme-'));
    cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    freshClone(dir);
    const prefix = amqpPrefix(cleanup, 'readme');
    const envExample = readFileSync(join(REPO, '.env.example'), 'utf8');
    const withPrefix = envExample.replace(/^AMQP_PREFIX=.*$/m, `AMQP_PREFIX=${prefix}`);
    verify(withPrefix !== envExample, '.env.example has an AMQP_PREFIX line');
    writeFileSync(join(dir, '.env.example'), withPrefix);
    cleanup.add(`drop database ${database}`, () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).then(
        () => undefined,
      ),
    );
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: process.env.LANG ?? 'C.UTF-8',
      ...(process.env.npm_config_registry ? { npm_config_registry: process.env.npm_config_registry } : {}),
    };
  });

  for (const original of blocks) {
    const first = original.text.split('\n')[0];
    // The README's database becomes this run's (created by the README's own createdb).
    const block: Block = { ...original, text: original.text.split(README_DATABASE).join(database) };
    if (block.kind === 'service') {
      it(`README.md:${block.line}: the service block is one command, ready on :${README_PORT}`, async () => {
        const commands = block.text
          .split('\n')
          .map((line) => line.replace(/\s+#.*$/, '').trim())
          .filter((line) => line.length > 0 && !line.startsWith('#'));
        expect(commands).toHaveLength(1);
        // exec: the command itself is the process that gets SIGTERM, as from a process manager.
        const running = new Child('service', 'bash', ['-c', `exec ${commands[0]}`], { cwd: dir, env });
        service = running;
        cleanup.add('stop the service', () => running.kill('SIGKILL'));
        await waitFor(
          async () => (await fetch(`${serviceUrl}/health/ready`).catch(() => null))?.status === 200,
          {
            what: `\`${commands[0]}\` ready on :${README_PORT}`,
            timeoutMs: 60000,
          },
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${running.tail()}`);
        });
      }, 120000);
      continue;
    }
    it(`README.md:${block.line}: ${first.slice(0, 60)}${first.length > 60 ? '…' : ''}`, async () => {
      const result = await runBlock(block, dir, env, join(dir, '.deploy-readme-env'));
      // The block exits 0 (its output shown when it does not).
      expect({ exit: result.code, output: result.code === 0 ? '' : result.output }).toEqual({
        exit: 0,
        output: '',
      });
      env = result.env;
      if (/^npm ci\b/m.test(block.text)) expect(result.output).not.toMatch(/npm (warn|WARN)/);
      const curls = (block.text.match(/^curl -i /gm) ?? []).length;
      if (curls > 0) {
        // Each signed curl is answered 200 {"accepted":1,"quarantined":0}.
        expect((result.output.match(/^HTTP\/1\.1 200 OK/gm) ?? []).length).toBe(curls);
        expect((result.output.match(/\{"accepted":1,"quarantined":0\}/g) ?? []).length).toBe(curls);
      }
      const ids = eventIdsSent(original, dir);
      sent.push(...ids);
      if (ids.length > 0) {
        const url = databaseUrl(database);
        await waitFor(
          async () =>
            (
              await query<{ n: number }>(
                url,
                'SELECT count(*)::int AS n FROM webhook_events WHERE event_id = ANY($1)',
                [ids],
              )
            )[0].n === ids.length,
          { what: `event(s) ${ids.join(', ')} stored in webhook_events`, timeoutMs: 30000 },
        );
      }
      const psql = (block.text.match(/^psql /gm) ?? []).length;
      // Each psql query found its row.
      if (psql > 0) expect((result.output.match(/^\(1 row\)$/gm) ?? []).length).toBe(psql);
    }, 600000);
  }

  it("points DATABASE_URL at the README's own database and sent at least two events", () => {
    expect(env.DATABASE_URL?.endsWith(`/${database}`)).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(2);
  });

  it('drains on SIGTERM (npm start execs node): exit 0, "shut down cleanly", the port free again', async () => {
    verify(service, 'the service was started');
    const exit = await service.stop('SIGTERM', 30000);
    expect(exit.code).toBe(0);
    expect(service.output).toContain('shut down cleanly');
    expect(await portIsFree(README_PORT)).toBe(true);
  }, 60000);
});
