/**
 * The Docker secrets part of the compose proof (compose.deploy-spec.ts): every secret reaches the service as a file
 * (`<NAME>_FILE` = /run/secrets/<name>, mounted in that service), never as a value in the
 * environment; the first-run files exist, are the DEV-ONLY `.example` ones, and agree with each other
 * (the password PostgreSQL and RabbitMQ are created with is the one in database_url / amqp_url); the
 * first-run WEBHOOK_SPACES_FILE is valid.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { SECRET_VARIABLES } from '../../src/config/secret-files';
import { parseSpacesFile } from '../../src/signature/spaces-file';
import { REPO, verify } from './support';

type Mapping = Record<string, unknown>;

const SECRETS_DIR = '/run/secrets';
/** Read from a file too, though not one of SECRET_VARIABLES (it is a file by nature). */
const FILE_VARIABLES = ['WEBHOOK_SPACES_FILE', ...SECRET_VARIABLES.map((name) => `${name}_FILE`)];

/** Whether a variable of the app's environment is one the service reads (its `_FILE` forms included). */
export const isFileVariable = (key: string): boolean => FILE_VARIABLES.includes(key);

/** A secret file's content, as the service reads it (one trailing newline dropped). */
const contentOf = (file: string) => readFileSync(file, 'utf8').replace(/\r?\n$/, '');

/** Where each secret of `service` is mounted in the container → the host file it comes from. */
export function secretMounts(
  name: string,
  service: Mapping,
  secrets: Record<string, Mapping>,
): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const entry of (service.secrets as unknown[] | undefined) ?? []) {
    const long = typeof entry === 'object' && entry !== null ? (entry as Mapping) : undefined;
    const source = String(long ? long.source : entry);
    const target = typeof long?.target === 'string' ? long.target : source;
    const file = secrets[source]?.file;
    verify(
      typeof file === 'string',
      `${name}: its secret ${source} is declared at the top level with a file`,
    );
    mounts.set(
      posix.isAbsolute(target) ? target : posix.join(SECRETS_DIR, target),
      join(REPO, 'docker', file),
    );
  }
  return mounts;
}

/**
 * Checks an app service's secret variables and returns its environment as the first run would read
 * it on this machine: each /run/secrets path replaced by the file it mounts.
 */
export function firstRunEnvironment(
  name: string,
  environment: Record<string, string>,
  mounts: Map<string, string>,
): Record<string, string> {
  for (const variable of SECRET_VARIABLES)
    verify(!(variable in environment), `${name}: ${variable} is not a value in the environment`);
  const resolved = { ...environment };
  for (const [key, value] of Object.entries(environment)) {
    if (!isFileVariable(key)) continue;
    const host = mounts.get(value);
    verify(
      value.startsWith(`${SECRETS_DIR}/`) && host !== undefined,
      `${name}: ${key} (${value}) is a Docker secret mounted in the service`,
    );
    verify(existsSync(host), `${name}: the first-run file of ${key} exists (${host})`);
    resolved[key] = host;
  }
  if (resolved.WEBHOOK_SPACES_FILE !== undefined) {
    const webhookSecrets = resolved.WEBHOOK_SECRETS_FILE ? contentOf(resolved.WEBHOOK_SECRETS_FILE) : '';
    let problem = 'none';
    try {
      parseSpacesFile(readFileSync(resolved.WEBHOOK_SPACES_FILE, 'utf8'), webhookSecrets.split(','));
    } catch (err) {
      problem = (err as Error).message;
    }
    verify(problem === 'none', `${name}: the first-run WEBHOOK_SPACES_FILE is valid (problems: ${problem})`);
  }
  return resolved;
}

/** The wiring between services: who gets which secret, and first-run files that agree. */
export function checkSecretWiring(
  compose: Mapping,
  services: Record<string, Mapping>,
  mountsOf: (name: string) => Map<string, string>,
): void {
  const secrets = (compose.secrets as Record<string, Mapping> | undefined) ?? {};
  for (const [secret, { file }] of Object.entries(secrets)) {
    verify(
      typeof file === 'string' && /^\.\/secrets\/[\w.-]+\.example$/.test(file),
      `secret ${secret} defaults to a DEV-ONLY file under docker/secrets/*.example (${String(file)})`,
    );
  }
  verify(
    !mountsOf('api').has(`${SECRETS_DIR}/database_url`),
    'the api gets no database_url (it needs no PostgreSQL)',
  );

  const worker = mountsOf('worker');
  const databaseUrl = new URL(contentOf(worker.get(`${SECRETS_DIR}/database_url`)!));
  const postgres = services.postgres.environment as Record<string, string>;
  verify(postgres.POSTGRES_PASSWORD === undefined, 'postgres gets its password as a file, not a value');
  const passwordFile = mountsOf('postgres').get(postgres.POSTGRES_PASSWORD_FILE);
  verify(passwordFile !== undefined, `postgres reads POSTGRES_PASSWORD_FILE from a Docker secret`);
  verify(
    decodeURIComponent(databaseUrl.password) === contentOf(passwordFile) &&
      decodeURIComponent(databaseUrl.username) === postgres.POSTGRES_USER &&
      databaseUrl.pathname === `/${postgres.POSTGRES_DB}` &&
      databaseUrl.hostname === 'postgres',
    'database_url names the user, password and database postgres is created with',
  );

  const amqpUrl = new URL(contentOf(worker.get(`${SECRETS_DIR}/amqp_url`)!));
  verify(
    mountsOf('api').get(`${SECRETS_DIR}/amqp_url`) === worker.get(`${SECRETS_DIR}/amqp_url`),
    'api and worker share amqp_url',
  );
  const rabbitmqEnv = (services.rabbitmq.environment as Record<string, string> | undefined) ?? {};
  verify(
    rabbitmqEnv.RABBITMQ_DEFAULT_PASS === undefined,
    'rabbitmq gets its password from a file, not a value',
  );
  const conf = [...mountsOf('rabbitmq')].find(([target]) =>
    /^\/etc\/rabbitmq\/conf\.d\/[\w.-]+\.conf$/.test(target),
  );
  verify(conf !== undefined, 'rabbitmq gets its user as a conf.d file (a Docker secret)');
  const setting = (key: string) =>
    new RegExp(`^\\s*${key}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(contentOf(conf[1]))?.[1];
  verify(
    setting('default_user') === decodeURIComponent(amqpUrl.username) &&
      setting('default_pass') === decodeURIComponent(amqpUrl.password) &&
      amqpUrl.hostname === 'rabbitmq',
    "amqp_url names the user and password rabbitmq's conf.d file creates",
  );
}
