import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProbe } from './support/broker';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * Secrets as Dotdigital accepts them (no minimum length, commas and spaces allowed), with the
 * built service (`node dist/main.js`). Role api: only the signature is in question. Ports 3581-3582.
 */

/** ServiceProcess passes WEBHOOK_SECRETS by default; `undefined` leaves it out of the child's environment. */
const UNSET = undefined as unknown as string;

describe('webhook secrets Dotdigital accepts (the built service)', () => {
  let dir: string;
  let probe: BrokerProbe;
  const prefixes: string[] = [];
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-secrets-'));
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    for (const service of services) await service.dispose();
    for (const prefix of prefixes) await probe?.deleteTopology(prefix);
    await probe?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(port: number, env: Record<string, string>): Promise<ServiceProcess> {
    const prefix = uniquePrefix('secrets');
    prefixes.push(prefix);
    const service = new ServiceProcess(port, { APP_ROLE: 'api', AMQP_PREFIX: prefix, ...env });
    services.push(service);
    await service.start();
    return service;
  }

  const postSigned = (service: ServiceProcess, secret: string) => {
    const body = JSON.stringify(envelope());
    return postWebhook(service.url, body, { signature: sign(body, secret) });
  };

  it("starts with Dotdigital's tutorial secret 'a strong secret', warns without printing it, and verifies with it", async () => {
    const secret = 'a strong secret';
    const service = await start(3581, { WEBHOOK_SECRETS: secret });
    const warning = await waitFor(
      () => service.output.split('\n').find((line) => line.includes('shorter than the recommended 16')),
      { what: 'the short-secret warning' },
    );
    expect(JSON.parse(warning)).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/^WEBHOOK_SECRETS, secret 1: 15 characters/),
    });
    expect((await postSigned(service, secret)).status).toBe(200);
    expect((await postSigned(service, 'a strong secret!')).status).toBe(401);
    expect(service.output).not.toContain(secret);
  });

  it('reads WEBHOOK_SECRETS_FILE one secret per line: a secret with a comma and a space verifies whole, a part of it does not', async () => {
    const secret = 'correct horse, battery staple';
    const file = join(dir, 'webhook_secrets');
    writeFileSync(file, `${secret}\r\n`);
    const service = await start(3582, { WEBHOOK_SECRETS: UNSET, WEBHOOK_SECRETS_FILE: file });
    expect((await postSigned(service, secret)).status).toBe(200);
    expect((await postSigned(service, 'correct horse')).status).toBe(401);
    expect((await postSigned(service, 'battery staple')).status).toBe(401);
    // An upgrading operator is told that a comma no longer splits a line, without the secret.
    const warning = await waitFor(
      () =>
        service.output
          .split('\n')
          .find((line) => line.includes('WEBHOOK_SECRETS_FILE, line 1: holds a comma')),
      { what: 'the comma warning' },
    );
    expect(JSON.parse(warning)).toMatchObject({ level: 40 });
    expect(service.output).not.toContain('horse');
  });
});
