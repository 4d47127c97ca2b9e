import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook } from './support/signing';

const DELIVERIES = 200;
const PER_DELIVERY = 100;
const TOTAL = DELIVERIES * PER_DELIVERY;

describe('a worker killed in the middle of a backlog', () => {
  let scratch: ScratchDatabase;
  let api: TestApp;
  let db: Db;
  let probe: BrokerProbe;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('crash');
    api = await startApp({ APP_ROLE: 'api', DATABASE_URL: scratch.url });
    await waitFor(async () => (await fetch(`${api.url}/health/ready`)).status === 200, { what: 'ready' });
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    for (const service of processes) await service.dispose();
    await api?.close();
    if (api) await probe?.deleteTopology(api.env.AMQP_PREFIX);
    await probe?.close();
    await db?.close();
    await scratch?.drop();
  });

  const worker = (port: number) => {
    const service = new ServiceProcess(port, {
      APP_ROLE: 'worker',
      AMQP_PREFIX: api.env.AMQP_PREFIX,
      DATABASE_URL: scratch.url,
      // 5 deliveries (500 events) per transaction: the table fills in steps a poll can catch mid-way.
      CONSUMER_BATCH_SIZE: '5',
    });
    processes.push(service);
    return service;
  };

  const stored = () => db.count('SELECT count(*) FROM webhook_events');

  it('loses nothing and stores nothing twice when a new worker takes over', async () => {
    const topology = topologyFor(api.env.AMQP_PREFIX);
    // The backlog: 200 batches of 100 events, taken while no worker runs.
    const run = Date.now().toString(36);
    for (let d = 0; d < DELIVERIES; d++) {
      const batch = Array.from({ length: PER_DELIVERY }, (_, i) =>
        envelope({
          eventId: `crash-${run}-${d}-${i}`,
          revision: i,
          payload: { id: `crash-${run}-${d}` },
        }),
      );
      const res = await postWebhook(api.url, JSON.stringify(batch));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(await probe.messageCount(topology.queue)).toBe(DELIVERIES);

    const first = worker(3201);
    await first.start();
    const partial = await waitFor(
      async () => {
        const count = await stored();
        return count >= TOTAL * 0.25 && count <= TOTAL * 0.75 ? count : null;
      },
      { intervalMs: 10, timeoutMs: 60000, what: 'the first worker between 25% and 75% of the backlog' },
    );
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await stored();
    expect(atKill).toBeGreaterThanOrEqual(partial);
    expect(atKill).toBeLessThan(TOTAL);
    // Every delivery the dead worker held unacknowledged is back in the queue.
    await waitFor(async () => (await probe.messageCount(topology.queue)) > 0, {
      what: 'deliveries requeued',
    });

    const second = worker(3202);
    await second.start();
    await waitFor(async () => (await stored()) === TOTAL, {
      intervalMs: 200,
      timeoutMs: 60000,
      what: `all ${TOTAL} events stored`,
    });
    await waitFor(async () => (await probe.messageCount(topology.queue)) === 0, { what: 'main queue empty' });

    expect(await db.count('SELECT count(DISTINCT event_id) FROM webhook_events')).toBe(TOTAL);
    expect(
      await db.count(`SELECT count(*) FROM webhook_events WHERE event_id LIKE $1`, [`crash-${run}-%`]),
    ).toBe(TOTAL);
    // Every message is at its highest revision (99), whatever was redelivered.
    expect(
      await db.rows(
        `SELECT count(*)::int AS entities, min(revision)::int AS low, max(revision)::int AS high FROM entity_revisions`,
      ),
    ).toEqual([{ entities: DELIVERIES, low: PER_DELIVERY - 1, high: PER_DELIVERY - 1 }]);
    expect(await probe.messageCount(topology.deadLetterQueue)).toBe(0);
    await second.kill('SIGTERM');
  });
});
