/**
 * Proves docker/Dockerfile without a Docker engine: reads the Dockerfile itself and repeats its steps
 * in a scratch folder (each stage's filesystem is a folder; WORKDIR, ENV, COPY (from the build context
 * through .dockerignore, or --from another stage) and RUN are carried out as written), so this proof
 * cannot drift from the file. Then it checks the runtime stage's result and starts it the way the
 * image would (its ENV, WORKDIR and CMD, as a non-root user) against the local PostgreSQL and
 * RabbitMQ: ready, one signed POST stored, its HEALTHCHECK command, SIGTERM → exit 0.
 *
 *   node -r ts-node/register/transpile-only scripts/verify-image.ts
 *
 * What it cannot prove: the base image itself (node:20-…-slim; this machine's Node and npm stand in for
 * it, and their versions are printed), and ownership/permission details of Docker's COPY.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import {
  AMQP_URL,
  Child,
  REPO,
  SECRET,
  amqpPrefix,
  check,
  createDatabase,
  envelope,
  log,
  query,
  randomTag,
  runScript,
  sign,
  waitFor,
  type Cleanup,
} from './lib';

const PORT = 3350;
const DOCKERFILE = join(REPO, 'docker', 'Dockerfile');

// ---------------------------------------------------------------- Dockerfile parsing

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped (Dockerfile syntax). */
export function parseInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) return; // comments (and parser directives), also inside continuations
    if (buffer === '' && line.trim() === '') return;
    if (buffer === '') start = index + 1;
    if (/\\\s*$/.test(line)) {
      buffer += line.replace(/\\\s*$/, '') + ' ';
      return;
    }
    buffer += line;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(buffer);
    if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = '';
  });
  return instructions;
}

function substitute(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string, bare: string) => {
    const name = braced ?? bare;
    if (!(name in args)) throw new Error(`unknown build argument ${name}`);
    return args[name];
  });
}

export function parseStages(text: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({
        from: substitute(match[1], globalArgs),
        name: match[2] ?? String(stages.length),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG')
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name, value = ''] = instruction.args.split('=', 2);
      globalArgs[name] = value;
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { stages, globalArgs };
}

/** JSON (exec) form, or null for the shell form. */
function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** `ENV a=b c="d e"` or the legacy `ENV a b`. */
function parseEnv(args: string): Record<string, string> {
  if (!/^\S+=/.test(args)) {
    const [name, ...rest] = args.split(/\s+/);
    return { [name]: rest.join(' ') };
  }
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g))
    env[match[1]] = match[2].startsWith('"') ? (JSON.parse(match[2]) as string) : match[2];
  return env;
}

/** Options (`--from=build`) and operands of COPY, in either form. */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const options: Record<string, string> = {};
  let rest = args;
  for (let match = /^--(\w+)=(\S+)\s+/.exec(rest); match; match = /^--(\w+)=(\S+)\s+/.exec(rest)) {
    options[match[1]] = match[2];
    rest = rest.slice(match[0].length);
  }
  for (const option of Object.keys(options))
    if (option !== 'from')
      throw new Error(`COPY --${option} is not repeated by this proof; extend scripts/verify-image.ts`);
  const operands = execForm(rest) ?? rest.split(/\s+/);
  if (operands.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from: options.from, sources: operands.slice(0, -1), dest: operands[operands.length - 1] };
}

// ---------------------------------------------------------------- .dockerignore

/** Docker's .dockerignore rules: Go-style globs with `**`, `!` exceptions, the last match wins. */
export class DockerIgnore {
  private readonly rules: { negate: boolean; pattern: RegExp }[] = [];

  constructor(text: string) {
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      const pattern = posix.normalize((negate ? line.slice(1) : line).replace(/^\/+/, ''));
      this.rules.push({ negate, pattern: globToRegExp(pattern) });
    }
  }

  /** `path` relative to the context root, with `/`. A folder excludes everything below it. */
  excludes(path: string): boolean {
    const parts = path.split('/');
    let excluded = false;
    for (const rule of this.rules)
      for (let i = 1; i <= parts.length; i++)
        if (rule.pattern.test(parts.slice(0, i).join('/'))) {
          excluded = !rule.negate;
          break;
        }
    return excluded;
  }
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

// ---------------------------------------------------------------- carrying the stages out

interface BuiltStage {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  cmd: string[] | null;
  healthcheck: string[] | null;
  stopSignal: string;
  runs: string[];
}

function build(stages: Stage[], scratch: string, npmCache: string): Map<string, BuiltStage> {
  const ignore = new DockerIgnore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));
  const built = new Map<string, BuiltStage>();
  for (const stage of stages) {
    const root = join(scratch, `stage-${stage.name}`);
    mkdirSync(root, { mode: 0o755 });
    const state: BuiltStage = {
      root,
      workdir: '/',
      env: {},
      user: 'root',
      cmd: null,
      healthcheck: null,
      stopSignal: 'SIGTERM',
      runs: [],
    };
    const inRoot = (containerPath: string) => join(root, posix.resolve(state.workdir, containerPath));
    log(`stage ${stage.name} (FROM ${stage.from})`);
    for (const { keyword, args, line } of stage.instructions) {
      log(`  ${keyword} ${args.length > 110 ? `${args.slice(0, 107)}...` : args}`);
      switch (keyword) {
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, args);
          mkdirSync(inRoot('.'), { recursive: true, mode: 0o755 });
          break;
        case 'ENV':
          Object.assign(state.env, parseEnv(args));
          break;
        case 'COPY': {
          const { from, sources, dest } = parseCopy(args);
          const intoFolder = dest.endsWith('/') || sources.length > 1;
          const target = inRoot(dest);
          for (const source of sources) {
            let origin: string;
            if (from !== undefined) {
              const other = built.get(from);
              if (!other) throw new Error(`line ${line}: COPY --from=${from}: no such earlier stage`);
              origin = join(other.root, posix.resolve(other.workdir, source));
            } else {
              const path = posix.normalize(source);
              if (ignore.excludes(path))
                throw new Error(`line ${line}: ${source} is excluded by .dockerignore`);
              origin = join(REPO, path);
            }
            if (!existsSync(origin)) throw new Error(`line ${line}: COPY source ${source} does not exist`);
            const isFolder = statSync(origin).isDirectory();
            const destination = isFolder || !intoFolder ? target : join(target, posix.basename(source));
            mkdirSync(isFolder ? destination : dirname(destination), { recursive: true, mode: 0o755 });
            cpSync(origin, destination, {
              recursive: true,
              // From the build context, only what .dockerignore lets into it.
              filter: (path) =>
                from !== undefined || !ignore.excludes(relative(REPO, path).split('\\').join('/')),
            });
          }
          break;
        }
        case 'RUN': {
          const command = execForm(args) ?? ['/bin/sh', '-c', args];
          state.runs.push(args);
          const result = spawnSync(command[0], command.slice(1), {
            cwd: inRoot('.'),
            stdio: 'inherit',
            env: {
              PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
              HOME: process.env.HOME ?? '/root',
              // A fresh image has an empty npm cache; a copy of this machine's keeps it fast, and
              // `npm cache clean` in a RUN step cleans the copy, not the machine's.
              npm_config_cache: npmCache,
              ...state.env,
            },
          });
          if (result.status !== 0)
            throw new Error(`line ${line}: RUN failed (exit ${result.status}): ${args}`);
          break;
        }
        case 'USER':
          state.user = args;
          break;
        case 'CMD':
          state.cmd = execForm(args) ?? ['/bin/sh', '-c', args];
          break;
        case 'HEALTHCHECK': {
          const match = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(args);
          if (!match) throw new Error(`line ${line}: cannot read HEALTHCHECK ${args}`);
          state.healthcheck = execForm(match[2]) ?? ['/bin/sh', '-c', match[2]];
          break;
        }
        case 'STOPSIGNAL':
          state.stopSignal = args;
          break;
        case 'EXPOSE':
        case 'LABEL':
          break;
        default:
          throw new Error(
            `line ${line}: ${keyword} is not repeated by this proof; extend scripts/verify-image.ts`,
          );
      }
    }
    built.set(stage.name, state);
  }
  return built;
}

// ---------------------------------------------------------------- the proof

/** The local account standing in for the image's USER (the image's `node` user is not on this machine). */
function localUser(imageUser: string): { name: string; uid: number; gid: number } {
  for (const name of [imageUser, 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0)
      return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('no unprivileged local user (nobody) to run the artifact as');
}

/** The command prefix that drops to `user` (as root), or none when this script already runs unprivileged. */
function asUser(user: { uid: number; gid: number }): string[] {
  if (process.getuid?.() !== 0) return [];
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
}

function listFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)));
}

runScript('verify-image', async (cleanup: Cleanup) => {
  log(
    `local stand-in for the base image: node ${process.version}, npm ${execFileSync('npm', ['-v']).toString().trim()}`,
  );
  const { stages } = parseStages(readFileSync(DOCKERFILE, 'utf8'));

  // -------- what the Dockerfile says
  check(stages.length >= 2, `multi-stage Dockerfile (${stages.map((s) => s.name).join(', ')})`);
  const runtime = stages[stages.length - 1];
  const buildStage = stages[0];
  for (const stage of stages)
    check(/^node:20(?:[.-]|$)/.test(stage.from), `stage ${stage.name} is based on Node 20 (${stage.from})`);
  check(/slim/.test(runtime.from), `runtime base is a slim image (${runtime.from})`);
  const runtimeRuns = runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const buildRuns = buildStage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  check(
    buildRuns.some((r) => /\bnpm ci\b/.test(r)) && buildRuns.some((r) => /\bnpm run build\b/.test(r)),
    'build stage: npm ci, npm run build',
  );
  check(
    runtimeRuns.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
    'runtime stage: npm ci --omit=dev from the lockfile',
  );
  const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
  check(
    copies.every((c) =>
      c.from === undefined
        ? c.sources.every((s) => /^package(-lock)?\.json$/.test(s))
        : c.sources.every((s) => /\/dist$/.test(s)),
    ),
    'runtime stage copies package.json, package-lock.json and dist/ only',
  );

  // -------- repeating it
  const scratch = mkdtempSync(join(tmpdir(), 'verify-image-'));
  chmodSync(scratch, 0o755); // readable by the unprivileged user that runs the artifact
  cleanup.add(`remove ${scratch}`, () => rmSync(scratch, { recursive: true, force: true }));
  const npmCache = join(scratch, 'npm-cache');
  const machineCache = join(process.env.HOME ?? '/root', '.npm', '_cacache');
  if (existsSync(machineCache)) cpSync(machineCache, join(npmCache, '_cacache'), { recursive: true });
  const built = build(stages, scratch, npmCache);
  const image = built.get(runtime.name)!;
  const app = join(image.root, image.workdir);

  // -------- the runtime stage's result
  check(image.env.NODE_ENV === 'production', 'ENV NODE_ENV=production');
  check(
    image.user !== 'root' && image.user !== '0' && image.user !== '',
    `USER is unprivileged (${image.user})`,
  );
  check(image.stopSignal === 'SIGTERM', 'STOPSIGNAL SIGTERM');
  check(
    image.cmd !== null && image.cmd[0] === 'node' && image.cmd[image.cmd.length - 1] === 'dist/main.js',
    `CMD runs node directly, so SIGTERM reaches it (${JSON.stringify(image.cmd)})`,
  );
  check(
    image.healthcheck !== null &&
      image.healthcheck.join(' ').includes('/health/live') &&
      !/curl|wget/.test(image.healthcheck.join(' ')),
    'HEALTHCHECK asks /health/live with node (no curl in a slim image)',
  );
  const top = readdirSync(app).sort();
  check(
    JSON.stringify(top) === JSON.stringify(['dist', 'node_modules', 'package-lock.json', 'package.json']),
    `the app folder holds dist, node_modules and package files only (${top.join(', ')})`,
  );
  const distFiles = listFiles(join(app, 'dist'));
  check(distFiles.includes('main.js'), 'dist/main.js exists');
  check(
    !distFiles.some((f) => f.endsWith('.ts') || f.includes('.spec.')),
    'dist holds no TypeScript sources and no specs',
  );
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const presentDev = Object.keys(manifest.devDependencies).filter((name) =>
    existsSync(join(app, 'node_modules', name)),
  );
  check(
    presentDev.length === 0,
    `no devDependency installed (${presentDev.join(', ') || 'none of ' + Object.keys(manifest.devDependencies).length})`,
  );
  const bins = existsSync(join(app, 'node_modules', '.bin'))
    ? readdirSync(join(app, 'node_modules', '.bin'))
    : [];
  const devBins = bins.filter((bin) =>
    ['tsc', 'ts-node', 'jest', 'nest', 'eslint', 'prettier'].includes(bin),
  );
  check(devBins.length === 0, `no build or test tool in node_modules/.bin (${devBins.join(', ') || 'none'})`);
  const missing = Object.keys(manifest.dependencies).filter(
    (name) => !existsSync(join(app, 'node_modules', name)),
  );
  check(missing.length === 0, `every dependency installed (${Object.keys(manifest.dependencies).length})`);
  const size = execFileSync('du', ['-sh', join(app, 'node_modules')])
    .toString()
    .split('\t')[0];
  log(`runtime node_modules: ${size}`);

  // -------- running it as the image would
  const user = localUser(image.user);
  log(`running as local user ${user.name} (uid ${user.uid}) in place of the image's ${image.user}`);
  const drop = asUser(user);
  const databaseUrl = await createDatabase(cleanup, 'image');
  const prefix = amqpPrefix(cleanup, 'image');
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    ...image.env,
    PORT: String(PORT),
    WEBHOOK_SECRETS: SECRET,
    DATABASE_URL: databaseUrl,
    AMQP_URL,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'info',
  };
  const command = [...drop, ...image.cmd];
  const service = new Child('service', command[0], command.slice(1), { cwd: app, env });
  cleanup.add('stop the service', () => service.kill());
  try {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).status === 200,
      '/health/ready 200',
    );
    check(true, 'GET /health/ready answers 200');
    const status = readFileSync(`/proc/${service.process.pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    check(uid !== undefined && Number(uid) !== 0, `the service process is not root (uid ${uid})`);

    const health = [...drop, ...image.healthcheck];
    const healthy = spawnSync(health[0], health.slice(1), { cwd: app, env, timeout: 10000 });
    check(healthy.status === 0, 'the HEALTHCHECK command succeeds against the running service');

    if (drop.length > 0) {
      const probe = [
        ...drop,
        'node',
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(join(app, 'probe'))}, 'x')`,
      ];
      const write = spawnSync(probe[0], probe.slice(1), { env });
      check(write.status !== 0, 'the service user cannot write to its own folder (it needs no write access)');
    }

    const eventId = `verify-image-${randomTag()}`;
    const body = Buffer.from(JSON.stringify(envelope(eventId)));
    const res = await fetch(`http://127.0.0.1:${PORT}/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': sign(body) },
      body,
    });
    const answer = await res.text();
    check(
      res.status === 200 && answer === '{"accepted":1,"quarantined":0}',
      `a signed POST /webhook is accepted (${res.status} ${answer})`,
    );
    const rows = await waitFor(async () => {
      const found = await query<{ outcome: string }>(
        databaseUrl,
        'SELECT outcome FROM webhook_events WHERE event_id = $1',
        [eventId],
      );
      return found.length > 0 ? found : null;
    }, 'the event in webhook_events');
    check(rows.length === 1 && rows[0].outcome === 'applied', 'the event is stored once in webhook_events');

    const exit = await service.stop(image.stopSignal);
    check(exit.code === 0, `${image.stopSignal} → exit code 0 (${JSON.stringify(exit)})`);
    const unhealthy = spawnSync(health[0], health.slice(1), { cwd: app, env, timeout: 10000 });
    check(unhealthy.status !== 0, 'the HEALTHCHECK command fails once the service is gone');
  } catch (err) {
    console.error(`--- service output (last lines)\n${service.tail()}`);
    throw err;
  }
});
