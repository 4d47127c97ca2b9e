import { BrokerProbe } from './support/broker';
import { cleanUp } from './support/clean-up';
import { Db } from './support/db';
import { runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { StalledConnection } from './support/raw-http';
import { scrapedMetric } from './support/scraped-metric';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook } from './support/signing';

/**
 * The consumer of role `all` gives way to the intake only while the intake needs the event loop
 * (CONSUMER_YIELD_MS), against the built service (port 4250): a request in flight that leaves the
 * loop idle (a body promised and not yet sent) costs storage a look at the loop, not the whole
 * CONSUMER_YIELD_MS, and that look is counted in webhook_consumer_yield_seconds_total. The waiting
 * under a saturating load is in src/lifecycle/intake-activity.spec.ts and in `npm run bench`.
 */

const PORT = 4250;
const YIELD_MS = 8000;

describe('the consumer of role all gives way to the intake (built service)', () => {
  const prefix = uniquePrefix('intake-first');
  const service = new ServiceProcess(PORT, {
    APP_ROLE: 'all',
    DATABASE_URL: runDatabaseUrl(),
    AMQP_PREFIX: prefix,
    CONSUMER_YIELD_MS: String(YIELD_MS),
  });
  let db: Db;
  let probe: BrokerProbe;
  let held: StalledConnection | undefined;

  beforeAll(async () => {
    db = await Db.connect();
    probe = await BrokerProbe.connect();
    await service.start();
  }, 60_000);

  afterAll(
    () =>
      cleanUp(
        () => held?.destroy(),
        () => service.dispose(),
        () => probe?.deleteTopology(prefix),
        () => probe?.close(),
        () => db?.close(),
      ),
    30_000,
  );

  const stored = (eventId: string) =>
    db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', [eventId]);

  it('stores a delivery when no request is in flight without waiting', async () => {
    const body = envelope();
    const started = Date.now();
    expect((await postWebhook(service.url, JSON.stringify(body))).status).toBe(200);
    await waitFor(async () => (await stored(body.eventId as string)) === 1, { what: 'the event stored' });
    expect(Date.now() - started).toBeLessThan(YIELD_MS);
  });

  it('looks at the event loop while a request is in flight, and stores without waiting out CONSUMER_YIELD_MS', async () => {
    held = await StalledConnection.open(
      PORT,
      Buffer.from(
        `POST /webhook HTTP/1.1\r\nHost: intake-first\r\nX-Comapi-Signature: ${'0'.repeat(40)}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n`,
        'latin1',
      ),
    );
    const inFlight = () => scrapedMetric(service.url, /^webhook_intake_requests_in_flight /);
    const yielded = () => scrapedMetric(service.url, /^webhook_consumer_yield_seconds_total /);
    await waitFor(async () => (await inFlight()) === 1, { what: 'the held request in flight' });
    const before = await yielded();
    const body = envelope();
    const started = Date.now();
    expect((await postWebhook(service.url, JSON.stringify(body))).status).toBe(200);
    await waitFor(async () => (await stored(body.eventId as string)) === 1, { what: 'the event stored' });
    expect(Date.now() - started).toBeLessThan(YIELD_MS - 3000);
    expect(await yielded()).toBeGreaterThan(before);
  });
});
