import { BrokerProbe } from './support/broker';
import { startApp, type TestApp } from './support/app';
import { Db } from './support/db';
import { waitFor } from './support/poll';
import { fixture, postWebhook } from './support/signing';
import { topologyFor } from '../src/messaging/topology';

describe('smoke', () => {
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;
  beforeAll(async () => {
    app = await startApp();
    db = await Db.connect();
    probe = await BrokerProbe.connect();
  });
  afterAll(async () => {
    await app.close();
    await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe.close();
    await db.close();
  });

  it('stores a signed fixture', async () => {
    await waitFor(async () => (await fetch(`${app.url}/health`)).status === 200, { what: 'healthy' });
    const res = await postWebhook(app.url, fixture('message.sent.json'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, quarantined: 0 });
    const rows = await waitFor(() =>
      db
        .rows(`SELECT outcome FROM webhook_events WHERE event_id = '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e01'`)
        .then((r) => r.length && r),
    );
    expect(rows).toEqual([{ outcome: 'applied' }]);
    expect(await probe.messageCount(topologyFor(app.env.AMQP_PREFIX).queue)).toBe(0);
  });
});
