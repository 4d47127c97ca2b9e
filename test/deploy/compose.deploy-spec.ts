/**
 * docker/docker-compose.yml, without a Docker engine: it parses; it has postgres, rabbitmq, api,
 * worker and nginx with healthchecks; the api scales (no container_name, no host port, replicas ≥ 2);
 * dependencies wait for health; named volumes; every variable handed to the service is in
 * .env.example and in the service's own validation schema (src/config/env.schema.ts), and the
 * defaults of a first run (an empty environment, the DEV-ONLY secret files) pass that validation;
 * secrets reach every service as Docker secrets, consistently (compose-secrets.ts).
 *
 * DEPLOY_COMPOSE_FILE: check another file (e.g. a broken copy, to see the checks fail).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { envSchema, parseByteSize, validateEnv } from '../../src/config/env.schema';
import { checkSecretWiring, firstRunEnvironment, isFileVariable, secretMounts } from './compose-secrets';
import { REPO, verify } from './support';

const COMPOSE = process.env.DEPLOY_COMPOSE_FILE ?? join(REPO, 'docker', 'docker-compose.yml');
const APP_SERVICES = ['postgres', 'rabbitmq', 'api', 'worker', 'nginx'];

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

const source = readFileSync(COMPOSE, 'utf8');
const document = parseDocument(source, { merge: true });
const compose = (document.errors.length === 0 ? document.toJS({ maxAliasCount: 100 }) : {}) as Mapping;
const services = (compose.services ?? {}) as Record<string, Mapping>;
const declaredSecrets = (compose.secrets as Record<string, Mapping> | undefined) ?? {};
const mounts = new Map<string, Map<string, string>>();
const mountsOf = (name: string) => {
  if (!mounts.has(name)) mounts.set(name, secretMounts(name, services[name], declaredSecrets));
  return mounts.get(name)!;
};

describe('docker/docker-compose.yml', () => {
  it('parses as YAML and has services', () => {
    expect(document.errors.map((e) => e.message)).toEqual([]);
    expect(Object.keys(services)).toEqual(expect.arrayContaining(APP_SERVICES));
  });

  it.each(APP_SERVICES)('service %s has a healthcheck', (name) => {
    const test = (services[name].healthcheck as Mapping | undefined)?.test;
    expect(Array.isArray(test) && test.length > 1).toBe(true);
  });

  it('runs PostgreSQL 15/16 and RabbitMQ 3.x, rabbitmq with a fixed hostname (its data dir is named after it)', () => {
    expect(text(services.postgres.image)).toMatch(/^postgres:1[56](?:[.-]|$)/);
    expect(text(services.rabbitmq.image)).toMatch(/^rabbitmq:3\./);
    expect(services.rabbitmq.hostname).toBeDefined();
  });

  it.each([
    ['postgres', '/var/lib/postgresql/data'],
    ['rabbitmq', '/var/lib/rabbitmq'],
  ])('%s keeps %s in a named volume', (service, path) => {
    const volumes = Object.keys((compose.volumes as Mapping | undefined) ?? {});
    const mount = ((services[service].volumes as string[] | undefined) ?? []).find((m) =>
      m.endsWith(`:${path}`),
    );
    expect(volumes).toContain(mount?.split(':')[0]);
  });

  describe.each([
    ['api', 'api'],
    ['worker', 'worker'],
  ])('%s', (name, role) => {
    const service = services[name] ?? {};
    const environment = environmentOf(service);

    it('is built from the repository root with docker/Dockerfile, which exists', () => {
      const build = service.build as Mapping | undefined;
      expect(build).toMatchObject({ context: '..', dockerfile: 'docker/Dockerfile' });
      expect(existsSync(resolve(REPO, 'docker', text(build?.context), text(build?.dockerfile)))).toBe(true);
    });

    it(`runs APP_ROLE=${role}`, () => {
      expect(environment.APP_ROLE).toBe(role);
    });

    it('hands the service only variables of .env.example and of the config schema', () => {
      const keys = Object.keys(environment);
      const example = envExampleKeys();
      expect(keys.filter((key) => !example.has(key))).toEqual([]);
      expect(keys.filter((key) => !(key in envSchema.shape) && !isFileVariable(key))).toEqual([]);
    });

    it("gives a first run (nothing set) an environment that passes the service's validation, every variable with a default", () => {
      const missing = new Set<string>();
      const resolved = Object.fromEntries(
        Object.entries(environment).map(([key, value]) => [key, interpolate(value, {}, missing)]),
      );
      const validated = validateEnv(firstRunEnvironment(name, resolved, mountsOf(name)));
      expect(validated.APP_ROLE).toBe(role);
      expect([...missing]).toEqual([]);
      // stop_grace_period must exceed SHUTDOWN_TIMEOUT_MS, or Docker kills a draining service.
      expect(durationSeconds(text(service.stop_grace_period ?? '10s'))).toBeGreaterThan(
        validated.SHUTDOWN_TIMEOUT_MS / 1000,
      );
    });

    it('waits for its dependencies to be healthy and is health-checked on /health', () => {
      const dependsOn = service.depends_on as Record<string, Mapping> | undefined;
      for (const dependency of role === 'api' ? ['rabbitmq'] : ['postgres', 'rabbitmq'])
        verify(dependsOn?.[dependency]?.condition === 'service_healthy', `${name} waits for ${dependency}`);
      expect(JSON.stringify((service.healthcheck as Mapping | undefined)?.test)).toContain('/health/');
    });
  });

  it('hands every secret to every service as a Docker secret, consistently', () => {
    checkSecretWiring(compose, services, mountsOf);
  });

  it('scales the api behind nginx: no container_name, no host port, at least 2 replicas', () => {
    const api = services.api;
    expect(api.container_name).toBeUndefined();
    expect(api.ports).toBeUndefined();
    expect(Number((api.deploy as Mapping | undefined)?.replicas)).toBeGreaterThanOrEqual(2);
  });

  it('publishes one host port through nginx, started once the api replicas are healthy, with docker/nginx.conf', () => {
    const nginx = services.nginx;
    expect((nginx.ports as string[] | undefined) ?? []).toHaveLength(1);
    // nginx resolves its upstream at start.
    expect((nginx.depends_on as Record<string, Mapping> | undefined)?.api?.condition).toBe('service_healthy');
    const mount = ((nginx.volumes as string[] | undefined) ?? []).find((v) => v.includes('nginx.conf'));
    expect(mount).toBeDefined();
    expect(existsSync(join(REPO, 'docker', mount!.split(':')[0]))).toBe(true);
  });

  it("lets BODY_LIMIT through nginx (client_max_body_size ≥ the api's default; the service answers 413 itself)", () => {
    const nginxConf = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');
    const bodySize = /client_max_body_size\s+(\d+)([kmg]?);/i.exec(nginxConf);
    expect(bodySize).not.toBeNull();
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[
      bodySize![2].toLowerCase() as '' | 'k' | 'm' | 'g'
    ];
    const apiBodyLimit = interpolate(environmentOf(services.api).BODY_LIMIT ?? '10mb', {}, new Set());
    expect(Number(bodySize![1]) * unit).toBeGreaterThanOrEqual(parseByteSize(apiBodyLimit) ?? Infinity);
  });

  it('calls its default secrets dev-only', () => {
    expect(source).toMatch(/DEV[- ]ONLY/i);
  });
});
