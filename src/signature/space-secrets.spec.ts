import { Logger } from '@nestjs/common';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../test/support/poll';
import { Metrics } from '../metrics/metrics.service';
import { keyFingerprint } from './secret-ring';
import { SignatureMetrics } from './signature.metrics';
import { sign } from './signature.verifier';
import { summarizeDelivery } from '../envelope/delivery.parser';
import { SPACE_MISMATCH_REASON, spaceMismatch, type Signer } from './space-scope';
import { SpaceSecrets } from './space-secrets';

const A_OLD = 'space-a-old-secret-000000001';
const A_NEW = 'space-a-new-secret-000000002';
const B = 'space-b-secret-00000000000001';
const ANY = 'any-space-secret-0000000001';
const GLOBAL = 'webhook-secrets-env-00000001';

const bodyOf = (...spaces: (string | null)[]) =>
  Buffer.from(
    JSON.stringify(
      spaces.map((space, i) => ({
        eventId: `e-${i}`,
        name: 'message.sent',
        ...(space ? { apiSpaceId: space } : {}),
      })),
    ),
  );

describe(SpaceSecrets.name, () => {
  let dir: string;
  let file: string;
  let metrics: Metrics;
  let secrets: SpaceSecrets;
  let warnings: jest.SpyInstance;

  const write = (content: unknown, path = file) =>
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  const start = (secretsEnv: string[] = [GLOBAL], spacesFile: string | null = file) => {
    metrics = new Metrics();
    secrets = new SpaceSecrets({ secrets: secretsEnv, spacesFile }, new SignatureMetrics(metrics));
    secrets.onModuleInit();
    return secrets;
  };
  const accepts = (secret: string, body = bodyOf('space-a')) => secrets.verify(body, sign(body, secret)).ok;
  const reloads = async (result: 'success' | 'failure') =>
    (await metrics.registry.getSingleMetric('webhook_secrets_reloads_total')!.get()).values.find(
      (v) => v.labels.result === result,
    )?.value;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'space-secrets-'));
    file = join(dir, 'spaces.json');
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    write({ 'space-a': [A_OLD], 'space-b': [B], '*': [ANY] });
  });

  afterEach(() => {
    secrets?.onModuleDestroy();
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses WEBHOOK_SECRETS alone when there is no file, and leaves SIGHUP alone', () => {
    const before = process.listenerCount('SIGHUP');
    start([GLOBAL], null);
    expect(accepts(GLOBAL)).toBe(true);
    expect(accepts(A_OLD)).toBe(false);
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

  it('stops start-up on a bad file with an error naming the file and the problem, never the secret', () => {
    write({ 'space-a': [42], 'space-b': [B] });
    expect(() => start()).toThrow(
      `WEBHOOK_SPACES_FILE (${file}): apiSpaceId "space-a", secret 1: must be a string, not a number`,
    );
    write(`{"space-b": ["${B}",]}`);
    expect(() => start()).toThrow(/^WEBHOOK_SPACES_FILE \(.*\): is not valid JSON/);
    try {
      start();
    } catch (err) {
      expect((err as Error).message + (err as Error).stack).not.toContain(B);
    }
    rmSync(file);
    expect(() => start()).toThrow(`WEBHOOK_SPACES_FILE (${file}): cannot read the file (ENOENT)`);
  });

  it('accepts a short secret, warning at start-up and at each reload by its entry, never the secret', () => {
    const short = 'a strong secret';
    write({ 'space-a': [short], '*': [ANY] });
    start();
    expect(accepts(short)).toBe(true);
    const expected = expect.stringMatching(
      /^WEBHOOK_SPACES_FILE API space "space-a", secret 1: 15 characters/,
    );
    expect(warnings).toHaveBeenCalledWith(expected);
    warnings.mockClear();
    expect(secrets.reload('SIGHUP')).toBe(true);
    expect(warnings).toHaveBeenCalledWith(expected);
    expect(JSON.stringify(warnings.mock.calls)).not.toContain(short);
  });

  it('stops start-up when the file and WEBHOOK_SECRETS hold no secret at all', () => {
    write({});
    expect(() => start([])).toThrow(/names no secret, and WEBHOOK_SECRETS is not set/);
    expect(start([GLOBAL])).toBeDefined();
  });

  it("tells the intake when a space's secret signed envelopes of another space", () => {
    start();
    const cases: [Buffer, string, string | null][] = [
      [bodyOf('space-a'), A_OLD, null],
      [bodyOf('space-a', 'space-a'), A_OLD, null],
      [bodyOf('space-b'), A_OLD, SPACE_MISMATCH_REASON],
      [bodyOf('space-a', 'space-b'), A_OLD, SPACE_MISMATCH_REASON],
      [bodyOf('space-a', null), A_OLD, SPACE_MISMATCH_REASON],
      [bodyOf('space-b', 'space-a'), ANY, null],
      [bodyOf(null), GLOBAL, null],
    ];
    // The intake's reading: who signed (the guard's verification) and the spaces its one parse named.
    const mismatchOf = (body: Buffer, signer: Signer | null) =>
      signer === null ? null : spaceMismatch(signer, summarizeDelivery(body).apiSpaceIds);
    for (const [body, secret, reason] of cases) {
      const verification = secrets.verify(body, sign(body, secret));
      expect(verification.ok).toBe(true);
      expect(mismatchOf(body, verification.ok ? verification : null)).toBe(reason);
    }
    // A body this instance did not verify (an operator's replay) is not judged.
    expect(mismatchOf(bodyOf('space-b'), null)).toBeNull();
  });

  it('counts each match by space and key fingerprint', async () => {
    start();
    accepts(A_OLD);
    accepts(A_OLD);
    accepts(ANY);
    accepts(GLOBAL);
    const values = (await metrics.registry.getSingleMetric('webhook_signature_matches_total')!.get()).values;
    expect(values).toEqual(
      expect.arrayContaining([
        { labels: { space: 'space-a', key: keyFingerprint(A_OLD) }, value: 2 },
        { labels: { space: '*', key: keyFingerprint(ANY) }, value: 1 },
        { labels: { space: '*', key: keyFingerprint(GLOBAL) }, value: 1 },
      ]),
    );
  });

  it('keeps the secrets in force when the file turns bad, and says why without the secret', async () => {
    start();
    write({ 'space-a': [A_OLD, A_NEW], 'space-b': 'not-a-list' });
    expect(secrets.reload('SIGHUP')).toBe(false);
    expect(accepts(A_OLD)).toBe(true);
    expect(accepts(A_NEW)).toBe(false);
    expect(await reloads('failure')).toBe(1);
    expect(await reloads('success')).toBe(0);
    const logged = JSON.stringify(warnings.mock.calls);
    expect(logged).toContain('apiSpaceId \\"space-b\\": must be a list of secrets');
    for (const secret of [A_OLD, A_NEW, B, ANY, GLOBAL]) expect(logged).not.toContain(secret);

    write({ 'space-a': [A_OLD, A_NEW], 'space-b': [B] });
    expect(secrets.reload('SIGHUP')).toBe(true);
    expect(accepts(A_NEW)).toBe(true);
    expect(await reloads('success')).toBe(1);
  });

  it('keeps the secrets in force when the file is gone', () => {
    start();
    rmSync(file);
    expect(secrets.reload('SIGHUP')).toBe(false);
    expect(accepts(A_OLD)).toBe(true);
    expect(JSON.stringify(warnings.mock.calls)).toContain('cannot read the file (ENOENT)');
  });

  it('does not count a change event that changed nothing as a reload', async () => {
    start();
    expect(secrets.reload('change')).toBe(true);
    expect(await reloads('success')).toBe(0);
    expect(secrets.reload('SIGHUP')).toBe(true);
    expect(await reloads('success')).toBe(1);
  });

  it('reloads on SIGHUP, and stops listening once destroyed', () => {
    start();
    write({ 'space-a': [A_NEW] });
    process.emit('SIGHUP', 'SIGHUP');
    expect(accepts(A_NEW)).toBe(true);
    expect(accepts(A_OLD)).toBe(false);
    const listening = process.listenerCount('SIGHUP');
    secrets.onModuleDestroy();
    expect(process.listenerCount('SIGHUP')).toBe(listening - 1);
  });

  describe('notices the file change by itself', () => {
    const until = (secret: string, expected: boolean) =>
      waitFor(() => accepts(secret) === expected, {
        timeoutMs: 5000,
        what: `${secret} accepted: ${expected}`,
      });

    it('when it is written in place', async () => {
      start();
      write({ 'space-a': [A_OLD, A_NEW] });
      await until(A_NEW, true);
      write({ 'space-a': [A_NEW] });
      await until(A_OLD, false);
      expect(accepts(A_NEW)).toBe(true);
    });

    it('when another file is renamed over it (atomic replace)', async () => {
      start();
      for (const [round, secret] of [A_NEW, A_OLD, A_NEW].entries()) {
        write({ 'space-a': [secret] }, join(dir, `.spaces.json.tmp${round}`));
        renameSync(join(dir, `.spaces.json.tmp${round}`), file);
        await until(secret, true);
      }
      expect(accepts(A_OLD)).toBe(false);
    });

    it('when its ..data symlink is swapped (Kubernetes ConfigMap/Secret volumes)', async () => {
      const version = (name: string, secret: string) => {
        mkdirSync(join(dir, name));
        write({ 'space-a': [secret] }, join(dir, name, 'spaces.json'));
      };
      version('..v1', A_OLD);
      symlinkSync('..v1', join(dir, '..data'));
      file = join(dir, 'mounted.json');
      symlinkSync(join('..data', 'spaces.json'), file);
      start();
      expect(accepts(A_OLD)).toBe(true);
      version('..v2', A_NEW);
      symlinkSync('..v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, '..v1'), { recursive: true });
      await until(A_NEW, true);
      expect(accepts(A_OLD)).toBe(false);
    });

    it('when the target of its symlink, in another directory, is edited', async () => {
      const elsewhere = join(dir, 'elsewhere');
      mkdirSync(elsewhere);
      write({ 'space-a': [A_OLD] }, join(elsewhere, 'real.json'));
      file = join(dir, 'link.json');
      symlinkSync(join(elsewhere, 'real.json'), file);
      start();
      write({ 'space-a': [A_NEW] }, join(elsewhere, 'real.json'));
      await until(A_NEW, true);
    });

    it('and keeps the old secrets through a broken version, then takes the fixed one', async () => {
      start();
      write('{"space-a": [');
      await waitFor(async () => (await reloads('failure')) === 1, {
        timeoutMs: 5000,
        what: 'a failed reload',
      });
      expect(accepts(A_OLD)).toBe(true);
      write({ 'space-a': [A_NEW] });
      await until(A_NEW, true);
    });
  });
});
