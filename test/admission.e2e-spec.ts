import { topologyFor } from '../src/messaging/topology';
import { BrokerProbe } from './support/broker';
import { cleanUp } from './support/clean-up';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { StalledConnection } from './support/raw-http';
import { scrapedMetric as metric } from './support/scraped-metric';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook } from './support/signing';

/**
 * Admission control of POST /webhook against the built service (APP_ROLE=api, port 4240): with
 * INTAKE_MAX_BYTES and INTAKE_MAX_REQUESTS set small, requests that hold bodies open (a body
 * promised and not yet sent) fill the bounds, and the next delivery is refused at once with a 503
 * and Retry-After (Dotdigital retries it), never held; once they are gone, deliveries pass again.
 */

const PORT = 4240;
const BODY_LIMIT = 64 * 1024;
const MAX_REQUESTS = 4;

/** A request that declares `length` body bytes, sends its headers and none of the body. */
const holdBody = (length: number) =>
  StalledConnection.open(
    PORT,
    Buffer.from(
      `POST /webhook HTTP/1.1\r\nHost: admission\r\nX-Comapi-Signature: ${'0'.repeat(40)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`,
      'latin1',
    ),
  );

/** A signed single envelope padded to about `bytes` (the padding is in its payload). */
const deliveryOf = (bytes: number) => {
  const body = envelope();
  (body.payload as Record<string, unknown>).note = 'x'.repeat(Math.max(0, bytes - 300));
  return JSON.stringify(body);
};

describe('admission by bytes and requests in flight (built service, APP_ROLE=api)', () => {
  const prefix = uniquePrefix('admission');
  const service = new ServiceProcess(PORT, {
    APP_ROLE: 'api',
    AMQP_PREFIX: prefix,
    BODY_LIMIT: String(BODY_LIMIT),
    INTAKE_MAX_BYTES: String(BODY_LIMIT),
    INTAKE_MAX_REQUESTS: String(MAX_REQUESTS),
  });
  const held: StalledConnection[] = [];
  let probe: BrokerProbe;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
    await service.start();
  }, 60_000);

  afterAll(
    () =>
      cleanUp(
        () => held.forEach((connection) => connection.destroy()),
        () => service.dispose(),
        () => probe?.deleteTopology(prefix),
        () => probe?.close(),
      ),
    30_000,
  );

  const inFlight = (what: 'bytes' | 'requests') =>
    metric(service.url, new RegExp(`^webhook_intake_${what}_in_flight `));
  const release = async () => {
    held.splice(0).forEach((connection) => connection.destroy());
    await waitFor(async () => (await inFlight('requests')) === 0, { what: 'held requests released' });
  };

  it('refuses a body that would pass INTAKE_MAX_BYTES with a fast 503, and admits one that fits', async () => {
    held.push(await holdBody(60 * 1024));
    await waitFor(async () => (await inFlight('bytes')) === 60 * 1024, { what: '60 KiB held' });

    const started = performance.now();
    const refused = await postWebhook(service.url, deliveryOf(8 * 1024));
    const refusedMs = performance.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.headers.get('x-delivery-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await refused.json()) as { message: string }).message).toMatch(/INTAKE_MAX_BYTES/);
    expect(refusedMs).toBeLessThan(2000);

    const fits = await postWebhook(service.url, deliveryOf(2 * 1024));
    expect(fits.status).toBe(200);
    expect(await fits.json()).toEqual({ accepted: 1, quarantined: 0 });
    await release();
  });

  it('refuses the request past INTAKE_MAX_REQUESTS, and admits again once the others are answered', async () => {
    for (let i = 0; i < MAX_REQUESTS; i++) held.push(await holdBody(100));
    await waitFor(async () => (await inFlight('requests')) === MAX_REQUESTS, { what: 'requests held' });

    const refused = await postWebhook(service.url, deliveryOf(500));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { message: string }).message).toMatch(/INTAKE_MAX_REQUESTS/);

    await release();
    expect(await inFlight('bytes')).toBe(0);
    const admitted = await postWebhook(service.url, deliveryOf(500));
    expect(admitted.status).toBe(200);
  });

  it('counts each refusal as overloaded, and only the admitted deliveries reached the queue', async () => {
    expect(await metric(service.url, /^webhook_deliveries_total\{result="overloaded"\} /)).toBe(2);
    expect(await metric(service.url, /^webhook_deliveries_total\{result="accepted"\} /)).toBe(2);
    expect(await probe.messageCount(topologyFor(prefix).queue)).toBe(2);
  });
});
