/**
 * docker/Dockerfile, with a real Docker engine: builds it (context: the repository root), checks the
 * image (non-root user, no devDependency, dist/), then runs one container per role (api, worker, all)
 * on the host network against the machine's PostgreSQL and RabbitMQ: HEALTHCHECK healthy, a signed
 * POST to api and to all stored in webhook_events, `docker stop` → exit 0 within the grace period.
 * Containers, image tag, scratch database and AMQP prefix are removed even on failure.
 *
 * Needs a Docker engine (`docker info`; .ci/run sets up the machine's). DEPLOY_NPM_REGISTRY: the
 * registry `npm ci` uses in the build; default the proxy on 127.0.0.1:4873 when it answers
 * (containers cannot reach the public registry there), else npm's own default.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../support/poll';
import { Cleanup } from '../support/processes';
import {
  AMQP_URL,
  REPO,
  SECRET,
  amqpPrefix,
  createDatabase,
  envelope,
  query,
  randomTag,
  sign,
} from './support';

const DOCKERFILE = join(REPO, 'docker', 'Dockerfile');
const PROXY_REGISTRY = 'http://127.0.0.1:4873/';
/**
 * One container per role, each on its own port of the shared host network. A port already taken makes
 * that container exit (EADDRINUSE): the HEALTHCHECK wait reports it, with the container's logs.
 */
const PORTS = { api: 3350, worker: 3351, all: 3352 };
/** `docker stop -t`: more than the service's SHUTDOWN_TIMEOUT_MS (20 s); docs/operations.md says `-t 30`. */
const STOP_GRACE_S = 30;

const execFileAsync = promisify(execFile);

/** A docker command's stdout (trimmed); its stderr is in the error when it fails. */
async function docker(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('docker', args, { maxBuffer: 1 << 24 }).catch((err: Error) => {
    throw new Error(
      `docker ${args[0]} failed: ${(err as { stderr?: string }).stderr?.trim() || err.message}`,
    );
  });
  return stdout.trim();
}

const inspect = (target: string, format: string) => docker('inspect', '--format', format, target);
/** A throwaway container of the image (host network: the only network containers have here). */
const inImage = (image: string, ...command: string[]) =>
  docker('run', '--rm', '--network', 'host', image, ...command);

/** `docker build` with its output shown as it comes: a first build takes minutes. */
function dockerBuild(args: string[]): Promise<number | null> {
  return new Promise((resolveBuild, reject) => {
    const child = spawn('docker', ['build', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', resolveBuild);
  });
}

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (res) => res.ok,
    () => false,
  );
}

/**
 * Runs inside the image (node, no other tool assumed): every installed package named in argv[1] at
 * any depth of node_modules (npm may nest), and whether dist/main.js exists.
 */
const INSPECT_CONTENTS = `
const fs = require('fs'), path = require('path');
const wanted = new Set(JSON.parse(process.argv[1])), found = [];
const dirs = (dir) => fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
function walk(modules) {
  for (const entry of dirs(modules)) {
    const names = entry.startsWith('@') ? dirs(path.join(modules, entry)).map((n) => entry + '/' + n) : [entry];
    for (const name of names) {
      if (wanted.has(name)) found.push(path.join(modules, name));
      const nested = path.join(modules, name, 'node_modules');
      if (fs.existsSync(nested)) walk(nested);
    }
  }
}
walk('node_modules');
console.log(JSON.stringify({ found, main: fs.existsSync('dist/main.js') }));
`;

describe('docker/Dockerfile, built by a Docker engine and run in each role', () => {
  const cleanup = new Cleanup();
  const tag = randomTag();
  const image = `omnichannel-webhook-receiver:deploy-${tag}`;
  const containers = Object.entries(PORTS).map(([role, port]) => ({
    role,
    port,
    name: `deploy-image-${tag}-${role}`,
  }));

  /** Shows the containers' last lines when a check of them fails. */
  const explain = async (check: () => Promise<void>) => {
    try {
      await check();
    } catch (err) {
      for (const { name } of containers) {
        const logs = await execFileAsync('docker', ['logs', '--tail', '30', name]).then(
          ({ stdout, stderr }) => stdout + stderr,
          (e: Error) => e.message,
        );
        console.error(`--- ${name} (last lines)\n${logs.trim()}`);
      }
      throw err;
    }
  };

  let databaseUrlOfRun = '';

  afterAll(() => cleanup.run());

  it('docker build -f docker/Dockerfile . succeeds', async () => {
    expect(await docker('version', '--format', '{{.Server.Version}}')).not.toBe('');
    const registry =
      process.env.DEPLOY_NPM_REGISTRY ??
      ((await answers(`${PROXY_REGISTRY}-/ping`)) ? PROXY_REGISTRY : undefined);
    // --network host: RUN npm ci reaches the registry (or the proxy) through the host's network.
    // --force-rm: no intermediate container left behind by a failed step.
    const code = await dockerBuild([
      '--network', 'host',
      '--force-rm',
      ...(registry ? ['--build-arg', `NPM_CONFIG_REGISTRY=${registry}`] : []),
      '-f', DOCKERFILE,
      '-t', image,
      REPO,
    ]); // prettier-ignore
    // --no-prune: only the tag goes; the untagged layers stay as the next build's cache.
    cleanup.add(`remove image ${image}`, () => docker('rmi', '--no-prune', image).then(() => undefined));
    expect(code).toBe(0);
  }, 900000);

  it('runs as a user other than root', async () => {
    const user = await inspect(image, '{{.Config.User}}');
    expect(user).not.toBe('');
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(await inImage(image, 'id', '-u')).toMatch(/^[1-9]\d*$/);
  });

  it('holds dist/main.js and no devDependency (unless a production dependency needs it), typescript or ts-node at any depth of node_modules', async () => {
    const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    // A package we also use in development can be a production dependency's own dependency (the
    // tracing SDK reads its configuration with `yaml`; instrumentation-pg ships @types/pg): those
    // belong in the image. Everything else of devDependencies, and the compilers, never do.
    const needed = await productionPackages();
    const forbidden = [
      ...new Set([
        ...Object.keys(manifest.devDependencies).filter((name) => !needed.has(name)),
        'typescript',
        'ts-node',
      ]),
    ];
    const contents = JSON.parse(
      await inImage(image, 'node', '-e', INSPECT_CONTENTS, JSON.stringify(forbidden)),
    ) as {
      found: string[];
      main: boolean;
    };
    expect(contents).toEqual({ found: [], main: true });
  });

  it('has a HEALTHCHECK', async () => {
    expect(await inspect(image, '{{json .Config.Healthcheck}}')).not.toBe('null');
  });

  it('reports healthy in each role (api, worker, all), with a database and an AMQP prefix of its own', async () => {
    const databaseUrl = await createDatabase(cleanup, 'image');
    const prefix = amqpPrefix(cleanup, 'image');
    for (const { role, port, name } of containers) {
      cleanup.add(`remove container ${name}`, () => docker('rm', '--force', name).then(() => undefined));
      const env = {
        APP_ROLE: role,
        PORT: port,
        WEBHOOK_SECRETS: SECRET,
        DATABASE_URL: databaseUrl,
        AMQP_URL,
      };
      const envArgs = Object.entries({ ...env, AMQP_PREFIX: prefix }).flatMap(([k, v]) => [
        '--env',
        `${k}=${v}`,
      ]);
      await docker('run', '--detach', '--name', name, '--network', 'host', ...envArgs, image);
    }
    await explain(async () => {
      // The HEALTHCHECK's final answer: healthy, unhealthy, or the container gone.
      const statuses = await Promise.all(
        containers.map(({ role, name }) =>
          waitFor(
            async () => {
              const format = '{{.State.Status}} {{.State.ExitCode}} {{.State.Health.Status}}';
              const [state, exitCode, health] = (await inspect(name, format)).split(' ');
              if (state !== 'running') return `${role}: ${state}, exit code ${exitCode}`;
              return health === 'starting' ? null : `${role}: ${health}`;
            },
            { what: `the ${role} container's HEALTHCHECK`, timeoutMs: 90000, intervalMs: 500 },
          ),
        ),
      );
      expect(statuses).toEqual(containers.map(({ role }) => `${role}: healthy`));
      databaseUrlOfRun = databaseUrl;
    });
  }, 180000);

  it('stores a signed event sent to api and one sent to all in webhook_events', async () => {
    await explain(async () => {
      const eventIds: string[] = [];
      for (const { role, port } of containers.filter((c) => c.role !== 'worker')) {
        // Healthy is liveness only; the load balancer waits for readiness (broker connected) too.
        await waitFor(() => answers(`http://127.0.0.1:${port}/health/ready`), {
          what: `${role} /health/ready 200`,
          timeoutMs: 30000,
        });
        const eventId = `deploy-image-${role}-${randomTag()}`;
        const body = Buffer.from(JSON.stringify(envelope(eventId)));
        const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': sign(body) },
          body,
        });
        expect({ role, status: res.status }).toEqual({ role, status: 200 });
        eventIds.push(eventId);
      }
      const sql = 'SELECT event_id FROM webhook_events WHERE event_id = ANY($1)';
      const stored = await waitFor(
        async () => {
          const rows = await query<{ event_id: string }>(databaseUrlOfRun, sql, [eventIds]);
          return rows.length === eventIds.length ? rows : null;
        },
        { what: `events ${eventIds.join(', ')} in webhook_events`, timeoutMs: 30000 },
      );
      expect(stored.map((r) => r.event_id).sort()).toEqual([...eventIds].sort());
    });
  }, 120000);

  it(`docker stop -t ${STOP_GRACE_S}: each role drains and exits 0 within the grace period`, async () => {
    await explain(async () => {
      const stops = await Promise.all(
        containers.map(async ({ role, name }) => {
          const stopping = Date.now();
          await docker('stop', '-t', String(STOP_GRACE_S), name);
          const withinGrace = (Date.now() - stopping) / 1000 < STOP_GRACE_S;
          return { role, exitCode: await inspect(name, '{{.State.ExitCode}}'), withinGrace };
        }),
      );
      expect(stops).toEqual(containers.map(({ role }) => ({ role, exitCode: '0', withinGrace: true })));
    });
  }, 120000);
});

/** Every package the production dependencies need, at any depth, as npm resolves them here. */
async function productionPackages(): Promise<Set<string>> {
  const { stdout } = await execFileAsync('npm', ['ls', '--omit=dev', '--omit=optional', '--all', '--json'], {
    cwd: REPO,
    maxBuffer: 1 << 26,
  });
  type Tree = { dependencies?: Record<string, Tree> };
  const names = new Set<string>();
  const walk = (tree: Tree) => {
    for (const [name, child] of Object.entries(tree.dependencies ?? {})) {
      names.add(name);
      walk(child);
    }
  };
  walk(JSON.parse(stdout) as Tree);
  return names;
}
