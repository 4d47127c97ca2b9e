import { parseByteSize, readEnv, validateEnv } from './env.schema';

const SECRET = 'config-secret-0123456789abcdef';
const SECOND = 'config-rotated-abcdefghijklmn';

/** The error message validateEnv throws for `input`. */
function problemWith(input: Record<string, unknown>): string {
  try {
    validateEnv(input);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('validateEnv accepted the input');
}

describe('validateEnv', () => {
  it('applies the documented defaults', () => {
    expect(validateEnv({ WEBHOOK_SECRETS: SECRET })).toMatchObject({
      PORT: 3000,
      WEBHOOK_SECRETS: [SECRET],
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      APP_ROLE: 'all',
      BODY_LIMIT: 10 * 1024 * 1024,
      INTAKE_MAX_BYTES: 16 * 1024 * 1024,
      INTAKE_MAX_REQUESTS: 1000,
      PUBLISH_TIMEOUT_MS: 5000,
      HTTP_REQUEST_TIMEOUT_MS: 20000,
      CONSUMER_PREFETCH_BYTES: 8 * 1024 * 1024,
      AMQP_PREFIX: 'omnichannel',
      LOG_LEVEL: 'info',
    });
  });

  it('refuses an INTAKE_MAX_BYTES below BODY_LIMIT (no body of the largest size could be admitted)', () => {
    expect(problemWith({ WEBHOOK_SECRETS: SECRET, INTAKE_MAX_BYTES: '1mb' })).toMatch(
      /INTAKE_MAX_BYTES: must be at least BODY_LIMIT \(10485760 bytes\)/,
    );
    expect(
      validateEnv({ WEBHOOK_SECRETS: SECRET, BODY_LIMIT: '1mb', INTAKE_MAX_BYTES: '1mb' }),
    ).toMatchObject({
      INTAKE_MAX_BYTES: 1024 * 1024,
    });
    expect(problemWith({ WEBHOOK_SECRETS: SECRET, INTAKE_MAX_REQUESTS: '0' })).toMatch(/INTAKE_MAX_REQUESTS/);
  });

  it('bounds HTTP_REQUEST_TIMEOUT_MS to 1 s to 5 min', () => {
    expect(validateEnv({ WEBHOOK_SECRETS: SECRET, HTTP_REQUEST_TIMEOUT_MS: '5000' })).toMatchObject({
      HTTP_REQUEST_TIMEOUT_MS: 5000,
    });
    expect(problemWith({ WEBHOOK_SECRETS: SECRET, HTTP_REQUEST_TIMEOUT_MS: '999' })).toMatch(
      /HTTP_REQUEST_TIMEOUT_MS/,
    );
    expect(problemWith({ WEBHOOK_SECRETS: SECRET, HTTP_REQUEST_TIMEOUT_MS: '300001' })).toMatch(
      /HTTP_REQUEST_TIMEOUT_MS/,
    );
  });

  it('reads every variable given as process.env does (strings)', () => {
    expect(
      validateEnv({
        WEBHOOK_SECRETS: SECRET,
        PORT: '8080',
        DATABASE_URL: 'postgresql://user:pw@db:5432/events',
        AMQP_URL: 'amqps://user:pw@mq:5671/vhost',
        APP_ROLE: 'worker',
        BODY_LIMIT: '512kb',
        PUBLISH_TIMEOUT_MS: '2000',
        AMQP_PREFIX: 'tenant-a.prod_1',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({
      PORT: 8080,
      APP_ROLE: 'worker',
      BODY_LIMIT: 512 * 1024,
      PUBLISH_TIMEOUT_MS: 2000,
      AMQP_PREFIX: 'tenant-a.prod_1',
      LOG_LEVEL: 'debug',
    });
  });

  it('splits comma-separated secrets (rotation), trimming spaces and dropping empty entries', () => {
    expect(validateEnv({ WEBHOOK_SECRETS: ` ${SECRET} ,${SECOND},` }).WEBHOOK_SECRETS).toEqual([
      SECRET,
      SECOND,
    ]);
  });

  it('accepts every role', () => {
    for (const role of ['all', 'api', 'worker'])
      expect(validateEnv({ WEBHOOK_SECRETS: SECRET, APP_ROLE: role }).APP_ROLE).toBe(role);
  });

  it('refuses a missing WEBHOOK_SECRETS and names it', () => {
    expect(problemWith({})).toMatch(/WEBHOOK_SECRETS: is required/);
    expect(problemWith({ APP_ROLE: 'api' })).toMatch(/WEBHOOK_SECRETS: is required/);
  });

  it('does not ask the worker role for webhook secrets: it verifies nothing', () => {
    expect(validateEnv({ APP_ROLE: 'worker' }).WEBHOOK_SECRETS).toBeUndefined();
  });

  it('refuses an empty WEBHOOK_SECRETS and names it', () => {
    expect(problemWith({ WEBHOOK_SECRETS: ' , ' })).toMatch(/WEBHOOK_SECRETS: must name at least one secret/);
  });

  it('accepts a secret under 16 characters (Dotdigital sets no minimum), warning without printing it', () => {
    const { env, warnings } = readEnv({ WEBHOOK_SECRETS: `${SECRET}, a strong secret ` });
    expect(env.WEBHOOK_SECRETS).toEqual([SECRET, 'a strong secret']);
    expect(warnings).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRETS, secret 2: 15 characters, shorter than the recommended 16/),
    ]);
    expect(warnings.join('\n')).not.toContain('a strong secret');
  });

  it('warns of nothing for secrets of 16 characters or more', () => {
    expect(readEnv({ WEBHOOK_SECRETS: '0123456789abcdef' }).warnings).toEqual([]);
  });

  it("keeps the 32-character minimum of admin keys (the service's own policy), without printing them", () => {
    const short = 'k'.repeat(31);
    const message = problemWith({ WEBHOOK_SECRETS: SECRET, ADMIN_API_KEYS: `${'k'.repeat(32)},${short}` });
    expect(message).toMatch(/ADMIN_API_KEYS: every key must be at least 32 characters/);
    expect(message).not.toContain(short);
  });

  it.each([
    ['BODY_LIMIT', 'lots'],
    ['BODY_LIMIT', '0'],
    ['BODY_LIMIT', '10 tb'],
    ['APP_ROLE', 'bogus'],
    ['APP_ROLE', ''],
    ['PORT', 'http'],
    ['PORT', '0'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['PUBLISH_TIMEOUT_MS', '10000'],
    ['PUBLISH_TIMEOUT_MS', 'soon'],
    ['AMQP_URL', 'http://127.0.0.1:5672'],
    ['DATABASE_URL', 'not a url'],
    ['AMQP_PREFIX', 'has space'],
    ['LOG_LEVEL', 'loud'],
  ])('refuses %s=%p and names the variable', (name, value) => {
    expect(problemWith({ WEBHOOK_SECRETS: SECRET, [name]: value })).toMatch(
      new RegExp(`^\\s+- ${name}: `, 'm'),
    );
  });

  it('names every bad variable at once and never prints a secret value', () => {
    const message = problemWith({
      WEBHOOK_SECRETS: SECRET,
      ADMIN_API_KEYS: `${SECRET},tooShort`,
      APP_ROLE: 'bogus',
      PORT: 'x',
      BODY_LIMIT: 'huge',
    });
    for (const name of ['ADMIN_API_KEYS', 'APP_ROLE', 'PORT', 'BODY_LIMIT']) expect(message).toContain(name);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('tooShort');
  });

  it('does not print the password of a bad URL', () => {
    const message = problemWith({ WEBHOOK_SECRETS: SECRET, AMQP_URL: 'http://user:hunter2-password@mq' });
    expect(message).toMatch(/AMQP_URL/);
    expect(message).not.toContain('hunter2-password');
  });
});

describe('parseByteSize', () => {
  it.each([
    ['10mb', 10 * 1024 * 1024],
    ['512kb', 512 * 1024],
    ['1KB', 1024],
    ['1.5kb', 1536],
    ['1048576', 1048576],
    ['2 gb', 2 * 1024 ** 3],
    ['100b', 100],
  ])('reads %s as %d bytes', (value, bytes) => {
    expect(parseByteSize(value)).toBe(bytes);
  });

  it.each(['', 'mb', '-1kb', '0', '1tb', 'ten'])('refuses %p', (value) => {
    expect(parseByteSize(value)).toBeUndefined();
  });
});
