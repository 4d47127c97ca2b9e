/**
 * Proves docker/Dockerfile with a real Docker engine: builds it (context: the repository root),
 * checks the image (non-root user, no devDependency, dist/), then runs one container per role (api,
 * worker, all) on the host network against the machine's PostgreSQL and RabbitMQ: HEALTHCHECK
 * healthy, a signed POST to api and to all stored in webhook_events, `docker stop` → exit 0 within the
 * grace period. Containers, image tag, scratch database and AMQP prefix are removed even on failure.
 *
 *   bash ../shared/tools/docker-engine.sh     # where present: dockerd, the base image, an npm proxy
 *   node -r ts-node/register/transpile-only scripts/verify-image.ts
 *
 * VERIFY_NPM_REGISTRY: the registry `npm ci` uses in the build; default the proxy on 127.0.0.1:4873
 * when it answers (containers cannot reach the public registry there), else npm's own default.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AMQP_URL,
  CheckFailed,
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
} from './lib';

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
function dockerBuild(args: string[]): Promise<void> {
  return new Promise((resolveBuild, reject) => {
    const child = spawn('docker', ['build', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolveBuild() : reject(new CheckFailed(`docker build exited with ${code}`)),
    );
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

runScript('verify-image', async (cleanup) => {
  log(`docker engine ${await docker('version', '--format', '{{.Server.Version}}')}`);
  const tag = randomTag();

  // -------- 1. build
  const registry =
    process.env.VERIFY_NPM_REGISTRY ??
    ((await answers(`${PROXY_REGISTRY}-/ping`)) ? PROXY_REGISTRY : undefined);
  log(`npm registry for the build: ${registry ?? "npm's default"}`);
  const image = `omnichannel-webhook-receiver:verify-${tag}`;
  const buildStarted = Date.now();
  // --network host: RUN npm ci reaches the registry (or the proxy) through the host's network.
  // --force-rm: no intermediate container left behind by a failed step.
  await dockerBuild([
    '--network', 'host',
    '--force-rm',
    ...(registry ? ['--build-arg', `NPM_CONFIG_REGISTRY=${registry}`] : []),
    '-f', DOCKERFILE,
    '-t', image,
    REPO,
  ]); // prettier-ignore
  // --no-prune: only the tag goes; the untagged layers stay as the next build's cache.
  cleanup.add(`remove image ${image}`, () => docker('rmi', '--no-prune', image).then(() => undefined));
  check(true, `docker build -f docker/Dockerfile . → ${image} (${seconds(buildStarted)} s)`);

  // -------- 2. the image
  const user = await inspect(image, '{{.Config.User}}');
  check(user !== '' && !/^(root|0)(:|$)/.test(user), `Config.User is not root ("${user}")`);
  const uid = await inImage(image, 'id', '-u');
  check(/^\d+$/.test(uid) && uid !== '0', `id -u inside the image is not 0 (${uid})`);
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const forbidden = [...new Set([...Object.keys(manifest.devDependencies), 'typescript', 'ts-node'])];
  const contents = JSON.parse(
    await inImage(image, 'node', '-e', INSPECT_CONTENTS, JSON.stringify(forbidden)),
  ) as { found: string[]; main: boolean };
  check(
    contents.found.length === 0,
    `no devDependency, typescript or ts-node in node_modules (checked ${forbidden.length} names; found: ${contents.found.join(', ') || 'none'})`,
  );
  check(contents.main, 'dist/main.js is in the image');
  const healthcheck = await inspect(image, '{{json .Config.Healthcheck}}');
  check(healthcheck !== 'null', `the image has a HEALTHCHECK (${healthcheck.slice(0, 80)}…)`);

  // -------- 3. one container per role, with a database and an AMQP prefix of this run's own
  const databaseUrl = await createDatabase(cleanup, 'image');
  const prefix = amqpPrefix(cleanup, 'image');
  const containers = Object.entries(PORTS).map(([role, port]) => ({
    role,
    port,
    name: `verify-image-${tag}-${role}`,
  }));
  const started = Date.now();
  for (const { role, port, name } of containers) {
    cleanup.add(`remove container ${name}`, () => docker('rm', '--force', name).then(() => undefined));
    const env = { APP_ROLE: role, PORT: port, WEBHOOK_SECRETS: SECRET, DATABASE_URL: databaseUrl, AMQP_URL };
    const envArgs = Object.entries({ ...env, AMQP_PREFIX: prefix }).flatMap(([k, v]) => [
      '--env',
      `${k}=${v}`,
    ]);
    await docker('run', '--detach', '--name', name, '--network', 'host', ...envArgs, image);
    log(`started ${name} (APP_ROLE=${role}, PORT=${port})`);
  }

  try {
    // -------- 4. HEALTHCHECK: wait for a final answer (healthy, unhealthy, or the container gone)
    await Promise.all(
      containers.map(async ({ role, name }) => {
        const status = await waitFor(
          async () => {
            const format = '{{.State.Status}} {{.State.ExitCode}} {{.State.Health.Status}}';
            const [state, exitCode, health] = (await inspect(name, format)).split(' ');
            if (state !== 'running') return `${state}, exit code ${exitCode}`;
            return health === 'starting' ? null : health;
          },
          `the ${role} container's HEALTHCHECK`,
          90000,
          500,
        );
        check(
          status === 'healthy',
          `${role}: HEALTHCHECK reports healthy (${status} after ${seconds(started)} s)`,
        );
      }),
    );

    // -------- 5. a signed event through api and through all, stored by the worker/all consumers
    const eventIds: string[] = [];
    for (const { role, port } of containers.filter((c) => c.role !== 'worker')) {
      // Healthy is liveness only; the load balancer waits for readiness (broker connected) too.
      await waitFor(() => answers(`http://127.0.0.1:${port}/health/ready`), `${role} /health/ready 200`);
      const eventId = `verify-image-${role}-${randomTag()}`;
      const body = Buffer.from(JSON.stringify(envelope(eventId)));
      const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': sign(body) },
        body,
      });
      check(
        res.status === 200,
        `${role}: signed POST /webhook answers 200 (${res.status} ${await res.text()})`,
      );
      eventIds.push(eventId);
    }
    const sql = 'SELECT event_id FROM webhook_events WHERE event_id = ANY($1)';
    await waitFor(
      async () => (await query(databaseUrl, sql, [eventIds])).length === eventIds.length,
      `events ${eventIds.join(', ')} in webhook_events`,
    );
    check(true, `both events are stored in webhook_events (${eventIds.join(', ')})`);

    // -------- 6. docker stop: SIGTERM, graceful drain, exit 0 before the SIGKILL
    await Promise.all(
      containers.map(async ({ role, name }) => {
        const stopping = Date.now();
        await docker('stop', '-t', String(STOP_GRACE_S), name);
        const elapsed = seconds(stopping);
        const code = await inspect(name, '{{.State.ExitCode}}');
        check(
          code === '0' && Number(elapsed) < STOP_GRACE_S,
          `${role}: docker stop -t ${STOP_GRACE_S} → exit code 0 within the grace period (exit code ${code} after ${elapsed} s)`,
        );
      }),
    );
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
});

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
