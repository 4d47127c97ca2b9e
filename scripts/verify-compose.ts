/**
 * Checks docker/docker-compose.yml without a Docker engine: it parses; it has postgres, rabbitmq, api,
 * worker and nginx with healthchecks; the api scales (no container_name, no host port, replicas ≥ 2);
 * dependencies wait for health; named volumes; every variable handed to the service is in
 * .env.example and in the service's own validation schema (src/config/env.schema.ts), and the
 * defaults of a first run (an empty environment, the DEV-ONLY secret files) pass that validation;
 * secrets reach every service as Docker secrets, consistently (scripts/compose-secrets.ts).
 *
 *   node -r ts-node/register/transpile-only scripts/verify-compose.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { envSchema, parseByteSize, validateEnv } from '../src/config/env.schema';
import { checkSecretWiring, firstRunEnvironment, isFileVariable, secretMounts } from './compose-secrets';
import { REPO, check, log, runScript } from './lib';

/** VERIFY_COMPOSE_FILE: check another file (e.g. a broken copy, to see the checks fail). */
const COMPOSE = process.env.VERIFY_COMPOSE_FILE ?? join(REPO, 'docker', 'docker-compose.yml');

type Mapping = Record<string, unknown>;

/** A scalar of the parsed YAML as text (objects as JSON). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Compose interpolation with an empty environment: `${X:-default}` → default, `${X}` → ''. */
function interpolate(value: string, env: Record<string, string>, missing: Set<string>): string {
  return value.replace(
    /\$\$|\$\{(\w+)(?:(:?)([-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$(\w+)/g,
    (whole, name: string, colon: string, op: string, word: string, bare: string) => {
      if (whole === '$$') return '$';
      const key = name ?? bare;
      const set = key in env && (colon ? env[key] !== '' : true);
      if (set) return env[key];
      if (op === '-') return interpolate(word ?? '', env, missing);
      missing.add(key);
      return '';
    },
  );
}

/** `environment` as a mapping, from either of its two compose forms. */
function environmentOf(service: Mapping): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const [key, ...rest] = String(item).split('=');
        return [key, rest.join('=')];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env as Mapping).map(([k, v]) => [k, v === null ? '' : text(v)]));
}

/** `30s`, `1m30s`, `500ms` → seconds. */
function durationSeconds(value: string): number {
  let seconds = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    seconds += Number(amount) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  return seconds;
}

function envExampleKeys(): Set<string> {
  return new Set(
    readFileSync(join(REPO, '.env.example'), 'utf8')
      .split('\n')
      // `# NAME=…` counts: an optional variable, documented but left unset.
      .map((line) => /^\s*(?:#\s*)?([A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((key): key is string => key !== undefined),
  );
}

runScript('verify-compose', () => {
  const source = readFileSync(COMPOSE, 'utf8');
  const document = parseDocument(source, { merge: true });
  check(
    document.errors.length === 0,
    `docker-compose.yml parses as YAML${document.errors.map((e) => `: ${e.message}`).join('')}`,
  );
  const compose = document.toJS({ maxAliasCount: 100 }) as Mapping;
  const services = compose.services as Record<string, Mapping>;
  check(services !== undefined, 'it has services');

  for (const name of ['postgres', 'rabbitmq', 'api', 'worker', 'nginx'])
    check(services[name] !== undefined, `service ${name} exists`);
  for (const name of ['postgres', 'rabbitmq', 'api', 'worker', 'nginx']) {
    const test = (services[name].healthcheck as Mapping | undefined)?.test;
    check(
      Array.isArray(test) && test.length > 1,
      `service ${name} has a healthcheck (${JSON.stringify(test)})`,
    );
  }
  check(
    /^postgres:1[56](?:[.-]|$)/.test(String(services.postgres.image)),
    `PostgreSQL 15/16 (${text(services.postgres.image)})`,
  );
  check(
    /^rabbitmq:3\./.test(String(services.rabbitmq.image)),
    `RabbitMQ 3.x (${text(services.rabbitmq.image)})`,
  );
  check(
    services.rabbitmq.hostname !== undefined,
    'rabbitmq has a fixed hostname (its data dir is named after it)',
  );

  // Named volumes for the data of both.
  const volumes = Object.keys((compose.volumes as Mapping | undefined) ?? {});
  for (const [service, path] of [
    ['postgres', '/var/lib/postgresql/data'],
    ['rabbitmq', '/var/lib/rabbitmq'],
  ]) {
    const mounts = (services[service].volumes as string[] | undefined) ?? [];
    const mount = mounts.find((m) => m.endsWith(`:${path}`));
    const volume = mount?.split(':')[0];
    check(
      volume !== undefined && volumes.includes(volume),
      `${service} keeps ${path} in the named volume ${volume}`,
    );
  }

  // The app services: one image built from the repository root.
  const env = envSchema.shape;
  const example = envExampleKeys();
  const missingVariables = new Set<string>();
  const declaredSecrets = (compose.secrets as Record<string, Mapping> | undefined) ?? {};
  const mounts = new Map<string, Map<string, string>>();
  const mountsOf = (name: string) => {
    if (!mounts.has(name)) mounts.set(name, secretMounts(name, services[name], declaredSecrets));
    return mounts.get(name)!;
  };
  for (const [name, role] of [
    ['api', 'api'],
    ['worker', 'worker'],
  ]) {
    const service = services[name];
    const build = service.build as Mapping | undefined;
    check(
      build !== undefined && build.context === '..' && build.dockerfile === 'docker/Dockerfile',
      `${name} is built from the repository root with docker/Dockerfile`,
    );
    check(
      existsSync(resolve(REPO, 'docker', String(build.context), String(build.dockerfile))),
      `${name}: the Dockerfile exists`,
    );
    const environment = environmentOf(service);
    check(environment.APP_ROLE === role, `${name} runs APP_ROLE=${role}`);
    const keys = Object.keys(environment);
    const notInExample = keys.filter((key) => !example.has(key));
    const notInSchema = keys.filter((key) => !(key in env) && !isFileVariable(key));
    check(
      notInExample.length === 0,
      `${name}: its ${keys.length} variables are all in .env.example${notInExample.length ? ` (not: ${notInExample.join(', ')})` : ''}`,
    );
    check(
      notInSchema.length === 0,
      `${name}: its ${keys.length} variables are all in the config schema (envSchema)${notInSchema.length ? ` (not: ${notInSchema.join(', ')})` : ''}`,
    );
    // What the service gets on a first run, with nothing set: it must pass the service's validation.
    const resolved = Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [key, interpolate(value, {}, missingVariables)]),
    );
    const validated = validateEnv(firstRunEnvironment(name, resolved, mountsOf(name)));
    check(validated.APP_ROLE === role, `${name}: the first-run environment passes the service's validation`);
    check(
      durationSeconds(text(service.stop_grace_period ?? '10s')) > validated.SHUTDOWN_TIMEOUT_MS / 1000,
      `${name}: stop_grace_period (${text(service.stop_grace_period ?? '10s (Docker default)')}) exceeds SHUTDOWN_TIMEOUT_MS`,
    );
    const dependsOn = service.depends_on as Record<string, Mapping> | undefined;
    const needs = role === 'api' ? ['rabbitmq'] : ['postgres', 'rabbitmq'];
    for (const dependency of needs) {
      check(
        dependsOn?.[dependency]?.condition === 'service_healthy',
        `${name} waits for ${dependency} to be healthy`,
      );
    }
    check(
      JSON.stringify((service.healthcheck as Mapping).test).includes('/health/'),
      `${name}'s healthcheck asks the service's /health endpoint`,
    );
  }
  checkSecretWiring(compose, services, mountsOf);
  check(
    missingVariables.size === 0,
    `every variable has a first-run default (${[...missingVariables].join(', ') || 'none missing'})`,
  );

  // The api scales behind nginx.
  const api = services.api;
  check(api.container_name === undefined, 'api has no container_name (it scales)');
  check(api.ports === undefined, 'api publishes no host port (nginx is the way in)');
  const replicas = Number((api.deploy as Mapping | undefined)?.replicas);
  check(replicas >= 2, `api runs ${replicas} replicas`);

  const nginx = services.nginx;
  const ports = (nginx.ports as string[] | undefined) ?? [];
  check(ports.length === 1, `nginx publishes one host port (${ports.join(', ')})`);
  check(
    ((nginx.depends_on as Record<string, Mapping> | undefined)?.api?.condition as string) ===
      'service_healthy',
    'nginx starts once the api replicas are healthy (its upstream is resolved at start)',
  );
  const mount = ((nginx.volumes as string[] | undefined) ?? []).find((v) => v.includes('nginx.conf'));
  check(
    mount !== undefined && existsSync(join(REPO, 'docker', mount.split(':')[0])),
    `nginx mounts docker/nginx.conf (${mount})`,
  );

  // nginx's body limit lets BODY_LIMIT through (the service answers 413 itself).
  const nginxConf = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');
  const bodySize = /client_max_body_size\s+(\d+)([kmg]?);/i.exec(nginxConf);
  const nginxBytes = bodySize
    ? Number(bodySize[1]) *
      { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[bodySize[2].toLowerCase() as '' | 'k' | 'm' | 'g']
    : 0;
  const apiBodyLimit = interpolate(environmentOf(api).BODY_LIMIT ?? '10mb', {}, new Set());
  check(
    nginxBytes >= (parseByteSize(apiBodyLimit) ?? Infinity),
    `nginx client_max_body_size (${bodySize?.[0] ?? 'none'}) ≥ BODY_LIMIT default (${apiBodyLimit})`,
  );

  // DEV-ONLY defaults are called out where they are.
  check(/DEV[- ]ONLY/i.test(source), 'the file calls its default secrets dev-only');
  log(`services: ${Object.keys(services).join(', ')}; volumes: ${volumes.join(', ')}`);
  return Promise.resolve();
});
