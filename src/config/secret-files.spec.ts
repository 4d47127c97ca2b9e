import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv, validateEnv, validateEnvSubset } from './env.schema';
import { SECRET_VARIABLES, resolveSecretFiles } from './secret-files';

const dir = mkdtempSync(join(tmpdir(), 'secret-files-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('resolveSecretFiles', () => {
  const generic = SECRET_VARIABLES.filter((name) => name !== 'WEBHOOK_SECRETS');

  it.each(generic)('reads %s from <NAME>_FILE, without the trailing newline', (name) => {
    const { values, problems } = resolveSecretFiles({ [`${name}_FILE`]: file(name, 'the-value\n') });
    expect(problems).toEqual([]);
    expect(values[name]).toBe('the-value');
    expect(values).not.toHaveProperty(`${name}_FILE`);
  });

  it.each(generic)('reads %s_FILE whole: a comma is part of the value', (name) => {
    expect(resolveSecretFiles({ [`${name}_FILE`]: file(`${name}-c`, 'a,b\n') }).values[name]).toBe('a,b');
  });

  it('reads WEBHOOK_SECRETS_FILE as one secret per line, verbatim', () => {
    const text = '\ufeffa strong secret\r\n  spaced, with a comma  \n\nlast,one\n';
    const { values, problems, warnings } = resolveSecretFiles({ WEBHOOK_SECRETS_FILE: file('lines', text) });
    expect(problems).toEqual([]);
    expect(values.WEBHOOK_SECRETS).toEqual(['a strong secret', '  spaced, with a comma  ', 'last,one']);
    expect(values).not.toHaveProperty('WEBHOOK_SECRETS_FILE');
    // The meaning changed (a comma used to split a line): an upgrading operator is told, without a secret.
    expect(warnings).toEqual([
      expect.stringMatching(
        /^WEBHOOK_SECRETS_FILE, lines 2, 4: holds a comma; each line is one whole secret/,
      ),
    ]);
    expect(warnings[0]).not.toMatch(/spaced|last/);
  });

  it('warns of nothing for a WEBHOOK_SECRETS_FILE without commas', () => {
    expect(resolveSecretFiles({ WEBHOOK_SECRETS_FILE: file('plain', 'one-secret\n') }).warnings).toEqual([]);
  });

  it.each(SECRET_VARIABLES)('refuses %s and %s_FILE both set, naming it', (name) => {
    const { problems } = resolveSecretFiles({ [name]: 'inline', [`${name}_FILE`]: file(`${name}-2`, 'x') });
    expect(problems).toEqual([expect.stringContaining(`${name}_FILE`)]);
    expect(problems[0]).not.toContain('inline');
  });

  it('names an unreadable file without printing anything of it', () => {
    const { problems } = resolveSecretFiles({ WEBHOOK_SECRETS_FILE: join(dir, 'missing') });
    expect(problems).toEqual(['WEBHOOK_SECRETS_FILE: cannot read the file (ENOENT)']);
  });
});

describe('validateEnv with secret files', () => {
  const secret = 'secret-from-a-file-0123456789';

  it('validates a secret read from a file like one given inline', () => {
    const env = validateEnv({
      WEBHOOK_SECRETS_FILE: file('webhook', `${secret}\n`),
      DATABASE_URL_FILE: file('db', 'postgres://u:p@db:5432/events'),
      ADMIN_API_KEYS_FILE: file('admin', 'k'.repeat(32)),
    });
    expect(env.WEBHOOK_SECRETS).toEqual([secret]);
    expect(env.DATABASE_URL).toBe('postgres://u:p@db:5432/events');
    expect(env.ADMIN_API_KEYS).toEqual(['k'.repeat(32)]);
  });

  it('names WEBHOOK_SECRETS_FILE in the warning of a short secret read from it', () => {
    const { env, warnings } = readEnv({ WEBHOOK_SECRETS_FILE: file('short', 'a strong secret\n') });
    expect(env.WEBHOOK_SECRETS).toEqual(['a strong secret']);
    expect(warnings).toEqual([expect.stringMatching(/^WEBHOOK_SECRETS_FILE, secret 1: 15 characters/)]);
  });

  it('refuses a WEBHOOK_SECRETS_FILE with no secret in it', () => {
    expect(() => validateEnv({ WEBHOOK_SECRETS_FILE: file('empty', '\n\r\n') })).toThrow(
      /WEBHOOK_SECRETS: must name at least one secret/,
    );
  });

  it('stops with every problem named: both forms at once, and a bad value from a file', () => {
    expect(() =>
      validateEnv({
        WEBHOOK_SECRETS: secret,
        WEBHOOK_SECRETS_FILE: file('both', secret),
        AMQP_URL_FILE: file('amqp', 'http://user:hunter2@mq'),
      }),
    ).toThrow(/WEBHOOK_SECRETS: set both[\s\S]*AMQP_URL: must be one URL/);
  });

  it('resolves only the variables a tool asks for', () => {
    expect(
      validateEnvSubset(['DATABASE_URL'], { DATABASE_URL_FILE: file('db2', 'postgres://x@y/z') }),
    ).toEqual({
      DATABASE_URL: 'postgres://x@y/z',
    });
  });
});
