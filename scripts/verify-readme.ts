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
 *   node -r ts-node/register/transpile-only scripts/verify-readme.ts
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
import { envSchema } from '../src/config/env.schema';
import {
  ADMIN_DATABASE_URL,
  Child,
  CheckFailed,
  REPO,
  amqpPrefix,
  check,
  log,
  query,
  randomTag,
  runScript,
  waitFor,
} from './lib';
import { databaseUrl, withAdmin } from '../test/support/scratch-database';

const README_DATABASE = 'omnichannel_dev';
const README_PORT = 3000;

interface Block {
  kind: 'run' | 'service';
  text: string;
  line: number;
}

/** The marked ```sh blocks of the README, in order. */
export function markedBlocks(readme: string): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*readme-check(?::\s*(service))?\s*-->\s*$/.exec(lines[i]);
    if (!marker) continue;
    if (!/^```(sh|bash)\s*$/.test(lines[i + 1] ?? '')) {
      throw new CheckFailed(
        `README.md:${i + 1}: a readme-check marker must stand right before a \`\`\`sh block`,
      );
    }
    const end = lines.findIndex((line, j) => j > i + 1 && line.startsWith('```'));
    if (end < 0) throw new CheckFailed(`README.md:${i + 2}: the marked block is not closed`);
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
  check(
    !existsSync(join(into, 'node_modules')) && !existsSync(join(into, 'dist')),
    `a fresh copy of ${copied} files, no node_modules, no dist`,
  );
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Runs one block with bash in `env`; returns its output and the environment it leaves. */
function runBlock(
  block: Block,
  cwd: string,
  env: NodeJS.ProcessEnv,
  envFile: string,
): Promise<{ output: string; env: NodeJS.ProcessEnv }> {
  const script = `set -a -euo pipefail\n${block.text}\nenv -0 > ${JSON.stringify(envFile)}\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      if (code !== 0)
        return reject(new CheckFailed(`README.md:${block.line}: the block exited ${code}:\n${output}`));
      const left: NodeJS.ProcessEnv = {};
      for (const entry of readFileSync(envFile, 'utf8').split('\0')) {
        const at = entry.indexOf('=');
        if (at > 0) left[entry.slice(0, at)] = entry.slice(at + 1);
      }
      // bash's own bookkeeping is not the shell's environment.
      for (const name of ['SHLVL', '_', 'PWD', 'OLDPWD']) delete left[name];
      resolve({ output, env: left });
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

runScript('verify-readme', async (cleanup) => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

  // -------- what the README says, without running anything
  for (const name of Object.keys(envSchema.shape))
    check(new RegExp(`^\\| \`${name}\` \\|`, 'm').test(readme), `the configuration table names ${name}`);
  check(readme.includes('`<NAME>_FILE`'), 'the README explains <NAME>_FILE');
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
  check(
    composeSecret && readme.includes(composeSecret),
    `the README names the compose stack's secret (${composeSecret})`,
  );
  const envExample = readFileSync(join(REPO, '.env.example'), 'utf8');
  const exampleSecret = /^WEBHOOK_SECRETS=(.+)$/m.exec(envExample)?.[1];
  check(
    exampleSecret && readme.includes(`SECRET=${exampleSecret}`),
    `the signing example uses .env.example's secret`,
  );
  check(
    /^PORT=3000$/m.test(envExample) && readme.includes(`localhost:${README_PORT}/webhook`),
    "the example posts to .env.example's port",
  );
  const blocks = markedBlocks(readme);
  check(
    blocks.filter((b) => b.kind === 'service').length === 1,
    `${blocks.length} marked blocks, one of them the service`,
  );
  check(readme.includes(README_DATABASE), `the README's database is ${README_DATABASE}`);
  check(await portIsFree(README_PORT), `port ${README_PORT} (the README's) is free`);

  // -------- a fresh clone with scratch names
  const dir = mkdtempSync(join(tmpdir(), 'verify-readme-'));
  cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  freshClone(dir);
  const prefix = amqpPrefix(cleanup, 'readme');
  const clonedExample = join(dir, '.env.example');
  const withPrefix = envExample.replace(/^AMQP_PREFIX=.*$/m, `AMQP_PREFIX=${prefix}`);
  check(withPrefix !== envExample, `.env.example has an AMQP_PREFIX line (the clone's now says ${prefix})`);
  writeFileSync(clonedExample, withPrefix);
  const database = `verify_readme_${randomTag()}`;
  cleanup.add(`drop database ${database}`, () =>
    withAdmin(
      (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
      ADMIN_DATABASE_URL,
    ).then(() => undefined),
  );
  const substituted = (block: Block): Block => ({
    ...block,
    text: block.text.split(README_DATABASE).join(database),
  });

  let env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: process.env.LANG ?? 'C.UTF-8',
    ...(process.env.npm_config_registry ? { npm_config_registry: process.env.npm_config_registry } : {}),
  };
  const envFile = join(dir, '.verify-readme-env');
  let service: Child | undefined;
  const sent: string[] = [];
  const serviceUrl = `http://127.0.0.1:${README_PORT}`;

  for (const original of blocks) {
    const block = substituted(original);
    const first = block.text.split('\n')[0];
    if (block.kind === 'service') {
      const commands = block.text
        .split('\n')
        .map((line) => line.replace(/\s+#.*$/, '').trim())
        .filter((line) => line.length > 0 && !line.startsWith('#'));
      check(
        commands.length === 1,
        `README.md:${block.line}: the service block is one command (${commands[0]})`,
      );
      const started = Date.now();
      // exec: the command itself is the process that gets SIGTERM, as from a process manager.
      service = new Child('service', 'bash', ['-c', `exec ${commands[0]}`], { cwd: dir, env });
      const running = service;
      cleanup.add('stop the service', () => running.kill('SIGKILL'));
      await waitFor(
        async () => (await fetch(`${serviceUrl}/health/ready`).catch(() => null))?.status === 200,
        `README.md:${block.line}: \`${commands[0]}\` ready on :${README_PORT}`,
        60000,
      ).catch((err: Error) => {
        throw new CheckFailed(`${err.message}\n${running.tail()}`);
      });
      log(`service ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      continue;
    }
    const started = Date.now();
    log(`running README.md:${block.line} (${first.slice(0, 60)}${first.length > 60 ? '…' : ''})`);
    const result = await runBlock(block, dir, env, envFile);
    env = result.env;
    log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    if (/^npm ci\b/m.test(block.text)) {
      check(
        !/npm (warn|WARN)/.test(result.output),
        `\`npm ci\` printed no warning${/npm warn/i.test(result.output) ? `:\n${result.output}` : ''}`,
      );
    }
    const curls = (block.text.match(/^curl -i /gm) ?? []).length;
    if (curls > 0) {
      const ok = (result.output.match(/^HTTP\/1\.1 200 OK/gm) ?? []).length;
      check(ok === curls, `README.md:${block.line}: ${curls} signed curl answered 200 (${ok})`);
      check(
        (result.output.match(/\{"accepted":1,"quarantined":0\}/g) ?? []).length === curls,
        `README.md:${block.line}: each answer is {"accepted":1,"quarantined":0}`,
      );
    }
    const ids = eventIdsSent(original, dir);
    sent.push(...ids);
    if (ids.length > 0) {
      const url = databaseUrl(database, ADMIN_DATABASE_URL);
      await waitFor(
        async () =>
          (
            await query<{ n: number }>(
              url,
              'SELECT count(*)::int AS n FROM webhook_events WHERE event_id = ANY($1)',
              [ids],
            )
          )[0].n === ids.length,
        `README.md:${block.line}: event(s) ${ids.join(', ')} stored in webhook_events`,
      );
    }
    const psql = (block.text.match(/^psql /gm) ?? []).length;
    if (psql > 0) {
      check(
        (result.output.match(/^\(1 row\)$/gm) ?? []).length === psql,
        `README.md:${block.line}: each psql query found its row`,
      );
    }
  }
  check(
    env.DATABASE_URL?.endsWith(`/${database}`),
    `the README's environment points DATABASE_URL at its own database`,
  );
  check(sent.length >= 2, `the README sent ${sent.length} events (${sent.join(', ')})`);

  // -------- the service drains on SIGTERM (npm start execs node)
  if (service) {
    const exit = await service.stop('SIGTERM', 30000);
    check(exit.code === 0, `the service exited ${exit.code} after SIGTERM`);
    check(service.output.includes('shut down cleanly'), 'it drained: "shut down cleanly"');
    check(await portIsFree(README_PORT), `port ${README_PORT} is free again: nothing left running`);
  }
});
