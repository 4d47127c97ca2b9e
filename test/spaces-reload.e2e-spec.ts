import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { waitFor } from './support/poll';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * WEBHOOK_SPACES_FILE changed while deliveries keep coming, with the real application
 * in this process (APP_ROLE=api, the real broker): edited in place under load, renamed over, and
 * swapped behind a Kubernetes-style `..data` symlink.
 */

const A1 = 'space-a-secret-reload-00000001';
const A2 = 'space-a-secret-reload-00000002';
const B1 = 'space-b-secret-reload-00000001';
const STAR = 'star-secret-reload-0000000001';

const post = (app: TestApp, items: object, secret: string) => {
  const body = JSON.stringify(items);
  return postWebhook(app.url, body, { signature: sign(body, secret) });
};

describe('reloading WEBHOOK_SPACES_FILE while deliveries come', () => {
  let dir: string;
  let file: string;
  let app: TestApp;
  let probe: BrokerProbe;
  const write = (content: object, path = file) => writeFileSync(path, JSON.stringify(content));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spaces-reload-'));
    file = join(dir, 'spaces.json');
    write({ 'space-a': [A1], 'space-b': [B1], '*': [STAR] });
    app = await startApp({ APP_ROLE: 'api', WEBHOOK_SPACES_FILE: file });
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await app?.close();
    if (app) await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rotates a space secret by editing the file under load: no delivery refused during the overlap', async () => {
    type Result = { secret: string; status: number; start: number; end: number };
    const results: Result[] = [];
    let running = true;
    const worker = async () => {
      for (let i = 0; running; i++) {
        const secret = i % 2 === 0 ? A1 : A2;
        const start = performance.now();
        const res = await post(app, envelope({ apiSpaceId: 'space-a' }), secret);
        await res.arrayBuffer();
        results.push({ secret, status: res.status, start, end: performance.now() });
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const first = (secret: string, status: number) =>
      waitFor(() => results.find((r) => r.secret === secret && r.status === status), {
        timeoutMs: 10000,
        what: `${secret === A1 ? 'old' : 'new'} secret answered ${status}`,
      });
    const more = (count: number) => {
      const target = results.length + count;
      return waitFor(() => results.length >= target, { what: `${count} more deliveries` });
    };
    try {
      await more(40);
      write({ 'space-a': [A1, A2], 'space-b': [B1], '*': [STAR] });
      const added = await first(A2, 200);
      await more(200);
      const removing = performance.now();
      write({ 'space-a': [A2], 'space-b': [B1], '*': [STAR] });
      const removed = await first(A1, 401);
      await more(40);
      running = false;
      await Promise.all(workers);

      expect(results.filter((r) => r.status !== 200 && r.status !== 401)).toEqual([]);
      // The overlap: from the first delivery under the new secret to the removal of the old one.
      const overlap = results.filter((r) => r.start > added.end && r.end < removing);
      expect(overlap.length).toBeGreaterThanOrEqual(150);
      expect(overlap.filter((r) => r.status !== 200)).toEqual([]);
      expect(results.filter((r) => r.secret === A1 && r.end < removing && r.status !== 200)).toEqual([]);
      expect(results.filter((r) => r.secret === A2 && r.start > added.end && r.status !== 200)).toEqual([]);
      // After the removal, only the new secret passes.
      const after = results.filter((r) => r.start > removed.end);
      expect(after.filter((r) => r.secret === A1).every((r) => r.status === 401)).toBe(true);
      expect(after.filter((r) => r.secret === A2).every((r) => r.status === 200)).toBe(true);
      expect(after.length).toBeGreaterThanOrEqual(20);
    } finally {
      running = false;
      await Promise.all(workers);
    }
  });

  it('picks up a file written beside it and renamed over it (atomic replace)', async () => {
    const until = (secret: string, status: number) =>
      waitFor(async () => (await post(app, envelope({ apiSpaceId: 'space-a' }), secret)).status === status, {
        timeoutMs: 10000,
        what: `${status} for the secret`,
      });
    write({ 'space-a': [A1], '*': [STAR] }, join(dir, '.spaces.json.tmp'));
    renameSync(join(dir, '.spaces.json.tmp'), file);
    await until(A1, 200);
    await until(A2, 401);
    expect((await post(app, envelope({ apiSpaceId: 'space-b' }), B1)).status).toBe(401);
  });
});

describe('WEBHOOK_SPACES_FILE behind a swapped ..data symlink (Kubernetes volumes)', () => {
  let dir: string;
  let app: TestApp;
  let probe: BrokerProbe;
  const version = (name: string, secret: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'spaces.json'), JSON.stringify({ 'space-a': [secret] }));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spaces-k8s-'));
    version('..2026_01_01_v1', A1);
    symlinkSync('..2026_01_01_v1', join(dir, '..data'));
    symlinkSync(join('..data', 'spaces.json'), join(dir, 'spaces.json'));
    app = await startApp({ APP_ROLE: 'api', WEBHOOK_SPACES_FILE: join(dir, 'spaces.json') });
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await app?.close();
    if (app) await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies with the new version once the symlink is swapped, and no longer with the old', async () => {
    expect((await post(app, envelope({ apiSpaceId: 'space-a' }), A1)).status).toBe(200);
    // What the kubelet does: a new directory, a new symlink renamed over ..data, the old one removed.
    version('..2026_01_01_v2', A2);
    symlinkSync('..2026_01_01_v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_v1'), { recursive: true });
    await waitFor(async () => (await post(app, envelope({ apiSpaceId: 'space-a' }), A2)).status === 200, {
      timeoutMs: 10000,
      what: 'the new secret accepted',
    });
    expect((await post(app, envelope({ apiSpaceId: 'space-a' }), A1)).status).toBe(401);
  });
});
