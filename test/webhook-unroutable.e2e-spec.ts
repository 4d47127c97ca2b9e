import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { waitFor } from './support/poll';
import { envelope, postWebhook } from './support/signing';

describe('POST /webhook when its queue is deleted under the running service', () => {
  let app: TestApp;
  let probe: BrokerProbe;

  beforeAll(async () => {
    app = await startApp({ APP_ROLE: 'api' });
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await app.close();
    await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe.close();
  });

  it('answers the unroutable delivery 503, declares the queue again, and accepts the next ones', async () => {
    const { queue } = topologyFor(app.env.AMQP_PREFIX);
    await probe.deleteQueue(queue);

    // The exchange is still there, the binding is gone: the broker returns the mandatory message.
    const refused = await postWebhook(app.url, JSON.stringify(envelope()));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { message: string }).message).toMatch(/unroutable/);

    const body = Buffer.from(JSON.stringify(envelope()));
    const accepted = await waitFor(
      async () => {
        const res = await postWebhook(app.url, body);
        if (res.status === 200) return res;
        await res.body?.cancel();
        return null;
      },
      { what: 'POST /webhook answered 200 once the queue is declared again' },
    );
    const messages = await probe.drain(queue);
    const ours = messages.filter(
      (m) => m.properties.headers?.['x-delivery-id'] === accepted.headers.get('x-delivery-id'),
    );
    expect(ours).toHaveLength(1);
    expect(ours[0].content.equals(body)).toBe(true);
  });
});
