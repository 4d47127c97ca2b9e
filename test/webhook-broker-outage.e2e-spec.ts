import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe, PrivateBroker } from './support/broker';
import { waitFor } from './support/poll';
import { envelope, fixture, postWebhook, sign } from './support/signing';

/** The contract's bound: Dotdigital counts a delivery as failed after 10 s without an answer. */
const DOTDIGITAL_TIMEOUT_MS = 10_000;

/** Posts and measures how long the answer took. */
async function timedPost(
  url: string,
  body: Buffer | string,
  options?: Parameters<typeof postWebhook>[2],
): Promise<{ res: Response; elapsed: number; text: string }> {
  const started = Date.now();
  const res = await postWebhook(url, body, options);
  const text = await res.text();
  return { res, text, elapsed: Date.now() - started };
}

describe('POST /webhook while the broker is down (private RabbitMQ node)', () => {
  const broker = new PrivateBroker(5701);
  let app: TestApp;
  let queue: string;

  beforeAll(async () => {
    await broker.start();
    app = await startApp({ APP_ROLE: 'api', AMQP_URL: broker.url, PUBLISH_TIMEOUT_MS: '2000' });
    queue = topologyFor(app.env.AMQP_PREFIX).queue;
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, {
      timeoutMs: 30_000,
      what: 'app connected to the private broker',
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await broker.stop();
  }, 60_000);

  /** Reads the private broker's queue with a short-lived client (it must not outlive a broker stop). */
  async function drainPrivateQueue() {
    const probe = await BrokerProbe.connect(broker.url);
    try {
      return await probe.drain(queue);
    } finally {
      await probe.close();
    }
  }

  it('accepts a delivery while the broker is up', async () => {
    const body = fixture('message.sent.json');
    const res = await postWebhook(app.url, body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, quarantined: 0 });
    const messages = await drainPrivateQueue();
    expect(messages).toHaveLength(1);
    expect(messages[0].content.equals(body)).toBe(true);
    expect(messages[0].properties.headers?.['x-delivery-id']).toBe(res.headers.get('x-delivery-id'));
  });

  describe('with the broker application stopped', () => {
    beforeAll(async () => {
      await broker.stopApp();
    }, 60_000);

    it('answers a valid delivery 503 with Retry-After within 10 s', async () => {
      const { res, text, elapsed } = await timedPost(app.url, fixture('message.delivered.json'));
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.parse(text)).toMatchObject({ statusCode: 503 });
      expect(elapsed).toBeLessThan(DOTDIGITAL_TIMEOUT_MS);
    });

    it.each([
      ['not JSON', 'this is not json'],
      ['an empty body', ''],
      ['an object that is not an envelope', '{"hello":"world"}'],
    ])('answers a signed malformed body (%s) 503, never 400', async (_, body) => {
      const { res, elapsed } = await timedPost(app.url, body);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(elapsed).toBeLessThan(DOTDIGITAL_TIMEOUT_MS);
    });

    it('still answers a bad signature 401 (nothing to keep)', async () => {
      const res = await postWebhook(app.url, fixture('message.read.json'), { signature: sign('other') });
      expect(res.status).toBe(401);
    });

    it('reports /health and /health/ready 503', async () => {
      await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 503, {
        what: '/health/ready 503',
      });
      const health = await fetch(`${app.url}/health`);
      expect(health.status).toBe(503);
      expect(JSON.stringify(await health.json())).toMatch(/rabbitmq/);
      const ready = await fetch(`${app.url}/health/ready`);
      expect(ready.status).toBe(503);
      await ready.body?.cancel();
      expect((await fetch(`${app.url}/health/live`)).status).toBe(200);
    });

    it('says "Not ready" on the GET /webhook page', async () => {
      const res = await fetch(`${app.url}/webhook`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/Not ready/);
    });
  });

  describe('after the broker application is started again', () => {
    beforeAll(async () => {
      await broker.startApp();
    }, 60_000);

    it('accepts again in the same running app and the delivery is in the broker queue', async () => {
      const body = Buffer.from(JSON.stringify([envelope(), envelope()]));
      const res = await waitFor(
        async () => {
          const attempt = await postWebhook(app.url, body);
          if (attempt.status === 200) return attempt;
          expect(attempt.status).toBe(503);
          await attempt.body?.cancel();
          return null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'POST /webhook answered 200 again' },
      );
      expect(await res.json()).toEqual({ accepted: 2, quarantined: 0 });
      const deliveryId = res.headers.get('x-delivery-id');
      const messages = await drainPrivateQueue();
      const ours = messages.filter((m) => m.properties.headers?.['x-delivery-id'] === deliveryId);
      expect(ours).toHaveLength(1);
      expect(ours[0].content.equals(body)).toBe(true);
      expect(ours[0].properties.deliveryMode).toBe(2);
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
    });
  });

  describe('while the broker blocks publishers (memory alarm: connected, but no confirm)', () => {
    beforeAll(async () => {
      await broker.setMemoryWatermark(0);
    }, 60_000);

    afterAll(async () => {
      await broker.setMemoryWatermark(0.4);
    }, 60_000);

    it('answers 503 with Retry-After once PUBLISH_TIMEOUT_MS passes without a confirm, within 10 s', async () => {
      // The first publish after the alarm is the one the broker blocks: no confirm comes.
      const { res, text, elapsed } = await timedPost(app.url, Buffer.from(JSON.stringify(envelope())));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.parse(text)).toMatchObject({ statusCode: 503, message: expect.stringMatching(/confirm/) });
      expect(elapsed).toBeGreaterThanOrEqual(app.env.PUBLISH_TIMEOUT_MS);
      expect(elapsed).toBeLessThan(DOTDIGITAL_TIMEOUT_MS);
    });

    it('then reports the block: /health/ready 503 and further deliveries refused at once', async () => {
      await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 503, {
        what: '/health/ready 503 while blocked',
      });
      const health = (await (await fetch(`${app.url}/health`)).json()) as {
        details: { rabbitmq: { publisher: string } };
      };
      expect(health.details.rabbitmq.publisher).toMatch(/^blocked/);
      const { res, text, elapsed } = await timedPost(app.url, Buffer.from(JSON.stringify(envelope())));
      expect(res.status).toBe(503);
      expect(JSON.parse(text).message).toMatch(/refusing publishes/);
      expect(elapsed).toBeLessThan(app.env.PUBLISH_TIMEOUT_MS);
    });
  });

  describe('after the memory alarm clears', () => {
    it('accepts again without a restart', async () => {
      const body = Buffer.from(JSON.stringify(envelope()));
      const res = await waitFor(
        async () => {
          const attempt = await postWebhook(app.url, body);
          if (attempt.status === 200) return attempt;
          await attempt.body?.cancel();
          return null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'POST /webhook answered 200 after the alarm' },
      );
      expect(await res.json()).toEqual({ accepted: 1, quarantined: 0 });
    });
  });
});
