import { startApp, type TestApp } from './support/app';
import { Db } from './support/db';
import { DestinationReceiver } from './support/destination-receiver';
import { destinationsFile, newSecret, owed } from './support/destinations-setup';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { PrivatePostgres } from './support/private-postgres';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook } from './support/signing';

/*
 * HTTP destinations when things die: a worker (dist/main.js) killed by SIGKILL while events are
 * owed to a slow receiver, and PostgreSQL stopped and started under the deliverer. Needs a build.
 * Ports 3611-3613 (workers), 55443 (a PostgreSQL of the test's own).
 */

/** POSTs `count` events as batches of `per` envelopes; returns their ids. */
async function postBatches(url: string, count: number, per: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += per) {
    const batch = Array.from({ length: Math.min(per, count - start) }, () => envelope());
    const res = await postWebhook(url, JSON.stringify(batch));
    expect(res.status).toBe(200);
    ids.push(...batch.map((e) => e.eventId as string));
  }
  return ids;
}

const arrived = (receiver: DestinationReceiver, ids: string[]) => {
  const delivered = new Set(receiver.deliveredIds());
  return ids.filter((id) => delivered.has(id)).length;
};

describe('destinations: a worker killed by SIGKILL while 300 events are owed', () => {
  const { secret } = newSecret();
  const stops: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  it('sends every event at least once after a restart', async () => {
    const receiver = await DestinationReceiver.start(() => ({ status: 204, delayMs: 100 }));
    stops.push(() => receiver.close());
    const scratch = await ScratchDatabase.create('dest_kill');
    stops.push(() => scratch.drop());
    const file = destinationsFile([{ name: 'slow', url: receiver.url, secrets: [secret], maxInFlight: 4 }]);
    stops.push(() => Promise.resolve(file.remove()));
    const prefix = uniquePrefix('dest-kill');
    const api: TestApp = await startApp({ APP_ROLE: 'api', AMQP_PREFIX: prefix });
    stops.push(() => api.close());
    const db = await Db.connect(scratch.url);
    stops.push(() => db.close());
    const worker = () => {
      const service = new ServiceProcess(3611, {
        APP_ROLE: 'worker',
        AMQP_PREFIX: prefix,
        DATABASE_URL: scratch.url,
        FEED_ENABLED: 'false',
        DESTINATIONS_FILE: file.path,
        DESTINATIONS_RETRY_BASE_MS: '100',
      });
      stops.push(() => service.dispose());
      return service;
    };

    const first = worker();
    await first.start();
    const ids = await postBatches(api.url, 300, 50);
    await waitFor(async () => (await owed(db, 'slow')) >= 200 && receiver.requests.length >= 8, {
      timeoutMs: 30000,
      what: 'events owed and being sent',
    });
    await first.kill('SIGKILL');
    const before = arrived(receiver, ids);
    expect(before).toBeLessThan(300);

    await worker().start();
    await waitFor(() => arrived(receiver, ids) === 300, { timeoutMs: 90000, what: 'all 300 arrived' });
    await waitFor(async () => (await owed(db, 'slow')) === 0, { what: 'nothing owed' });
    // At least once. The only repeats are the requests under way when the worker died and those
    // answered but not yet deleted: together fewer than five times maxInFlight (4).
    const repeats = receiver.deliveredIds().filter((id) => ids.includes(id)).length - 300;
    expect(repeats).toBeLessThanOrEqual(19);
  });
});

describe('destinations: two worker replicas, the sending one killed', () => {
  const { secret } = newSecret();
  const stops: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });

  const sending = async (service: ServiceProcess) =>
    /^webhook_destinations_deliverer_active 1$/m.test(await (await fetch(`${service.url}/metrics`)).text());

  it('only one sends; the other takes over within seconds and every event arrives', async () => {
    const receiver = await DestinationReceiver.start(() => ({ status: 204, delayMs: 50 }));
    stops.push(() => receiver.close());
    const scratch = await ScratchDatabase.create('dest_takeover');
    stops.push(() => scratch.drop());
    const file = destinationsFile([{ name: 'crm', url: receiver.url, secrets: [secret], maxInFlight: 4 }]);
    stops.push(() => Promise.resolve(file.remove()));
    const prefix = uniquePrefix('dest-takeover');
    const api: TestApp = await startApp({ APP_ROLE: 'api', AMQP_PREFIX: prefix });
    stops.push(() => api.close());
    const db = await Db.connect(scratch.url);
    stops.push(() => db.close());
    const workers = [3612, 3613].map((port) => {
      const service = new ServiceProcess(port, {
        APP_ROLE: 'worker',
        AMQP_PREFIX: prefix,
        DATABASE_URL: scratch.url,
        FEED_ENABLED: 'false',
        DESTINATIONS_FILE: file.path,
      });
      stops.push(() => service.dispose());
      return service;
    });
    await Promise.all(workers.map((worker) => worker.start()));

    const ids = await postBatches(api.url, 200, 50);
    const leader = await waitFor(
      async () => {
        const flags = await Promise.all(workers.map(sending));
        return flags.filter(Boolean).length === 1 ? workers[flags.indexOf(true)] : null;
      },
      { what: 'exactly one replica sending' },
    );
    await waitFor(() => receiver.requests.length >= 20, { what: 'sending under way' });
    await leader.kill('SIGKILL');
    const killedAt = Date.now();
    const survivor = workers.find((worker) => worker !== leader)!;
    await waitFor(() => sending(survivor), { timeoutMs: 10000, what: 'the takeover' });
    await waitFor(() => receiver.requests.some((r) => r.startedAt > killedAt), {
      what: 'a request after the kill',
    });
    const firstAfter = Math.min(
      ...receiver.requests.filter((r) => r.startedAt > killedAt).map((r) => r.startedAt),
    );
    expect(firstAfter - killedAt).toBeLessThan(5000);

    await waitFor(() => arrived(receiver, ids) === 200, { timeoutMs: 60000, what: 'all 200 arrived' });
    // The same bound as a lone worker killed (above): the requests under way and the rows answered
    // but not yet deleted, fewer than five times maxInFlight (4), are sent again by the survivor.
    const repeats = receiver.deliveredIds().filter((id) => ids.includes(id)).length - 200;
    expect(repeats).toBeLessThanOrEqual(19);
  });
});

describe('destinations: PostgreSQL stopped and started (APP_ROLE=all)', () => {
  const postgres = new PrivatePostgres(55443);
  const { secret } = newSecret();
  let receiver: DestinationReceiver;
  let app: TestApp;
  let file: ReturnType<typeof destinationsFile>;

  beforeAll(async () => {
    await postgres.init();
    receiver = await DestinationReceiver.start(() => ({ status: 204, delayMs: 50 }));
    file = destinationsFile([{ name: 'crm', url: receiver.url, secrets: [secret], maxInFlight: 2 }]);
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: postgres.url,
      AMQP_PREFIX: uniquePrefix('dest-pg'),
      FEED_ENABLED: 'false',
      DESTINATIONS_FILE: file.path,
      DESTINATIONS_RETRY_BASE_MS: '100',
    });
  });

  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    file?.remove();
    await postgres.destroy();
  });

  it('loses nothing: what was owed and what arrived during the outage is sent once it is back', async () => {
    const before = await postBatches(app.url, 100, 20);
    await waitFor(() => receiver.requests.length >= 5, { what: 'sending under way' });
    await postgres.stop('immediate');
    // Accepted while PostgreSQL is down: they wait in RabbitMQ.
    const during = await postBatches(app.url, 40, 20);
    await postgres.start();
    const ids = [...before, ...during];
    await waitFor(() => arrived(receiver, ids) === ids.length, { timeoutMs: 90000, what: 'all 140 arrived' });
  });
});
