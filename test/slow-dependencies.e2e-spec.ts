import { SILENT_CONNECTION_MS } from '../src/database/database.service';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { cleanUp } from './support/clean-up';
import { Db } from './support/db';
import { AMQP_URL, uniquePrefix } from './support/env';
import { FaultProxy } from './support/fault-proxy';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook } from './support/signing';

/**
 * Dependencies that are there but do not answer, or answer slowly: a FaultProxy (test/support) in
 * front of the machine's RabbitMQ and PostgreSQL. A stopped server is covered elsewhere
 * (webhook-broker-outage, consumer-database-outage); here the TCP connection stays up and nothing
 * comes back, which only a timeout of the service's own can notice.
 */

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - started) };
};

describe('slow dependencies', () => {
  let probe: BrokerProbe;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await probe?.close();
  });

  describe('RabbitMQ accepts connections but never confirms (blackholed after connecting)', () => {
    const PUBLISH_TIMEOUT_MS = 1500;
    /** Time beyond PUBLISH_TIMEOUT_MS for the 503 to be written, on a loaded 2-core machine. */
    const MARGIN_MS = 1000;
    let proxy: FaultProxy;
    let app: TestApp;

    beforeAll(async () => {
      const { hostname, port } = new URL(AMQP_URL);
      proxy = await FaultProxy.start({ target: { host: hostname, port: Number(port || 5672) } });
      const url = new URL(AMQP_URL);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      app = await startApp({
        APP_ROLE: 'api',
        AMQP_URL: url.toString(),
        PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS),
      });
    });

    afterAll(() =>
      cleanUp(
        () => app?.close(),
        () => proxy?.close(),
        () => app && probe.deleteTopology(app.env.AMQP_PREFIX),
      ),
    );

    it('answers 503 within PUBLISH_TIMEOUT_MS plus a margin, turns /health/ready 503, and recovers on its own', async () => {
      const queue = topologyFor(app.env.AMQP_PREFIX).queue;
      const accepted: string[] = [];
      const before = await postWebhook(app.url, JSON.stringify(envelope()));
      expect(before.status).toBe(200);
      accepted.push(before.headers.get('x-delivery-id')!);

      await proxy.blackhole();
      // The first delivery waits for a confirm that never comes; the connection is then given up,
      // so the next ones are refused at once instead of waiting too.
      const first = await timed(() => postWebhook(app.url, JSON.stringify(envelope())));
      expect(first.value.status).toBe(503);
      expect(first.value.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(first.ms).toBeGreaterThanOrEqual(PUBLISH_TIMEOUT_MS - 50);
      expect(first.ms).toBeLessThan(PUBLISH_TIMEOUT_MS + MARGIN_MS);
      const more = await Promise.all(
        Array.from({ length: 5 }, () => timed(() => postWebhook(app.url, JSON.stringify(envelope())))),
      );
      for (const { value, ms } of more) {
        expect(value.status).toBe(503);
        expect(ms).toBeLessThan(PUBLISH_TIMEOUT_MS + MARGIN_MS);
      }
      await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 503, {
        what: '/health/ready 503 while the broker does not confirm',
      });
      // It keeps trying new connections (they go into the blackhole too).
      const acceptedBefore = proxy.stats.accepted;
      await waitFor(() => proxy.stats.accepted > acceptedBefore, {
        timeoutMs: 20_000,
        what: 'a new connection attempt',
      });
      console.log(
        `broker blackholed: first delivery 503 after ${first.ms} ms (PUBLISH_TIMEOUT_MS ${PUBLISH_TIMEOUT_MS}), ` +
          `the next ones after ${more.map((m) => m.ms).join(', ')} ms`,
      );

      await proxy.pass();
      const recovered = Date.now();
      const res = await waitFor(
        async () => {
          const attempt = await postWebhook(app.url, JSON.stringify(envelope()));
          if (attempt.status === 200) return attempt;
          expect(attempt.status).toBe(503);
          return null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'POST /webhook answered 200 again without a restart' },
      );
      console.log(`broker passing again: 200 after ${Date.now() - recovered} ms`);
      accepted.push(res.headers.get('x-delivery-id')!);
      expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
      // What was answered 200 is in the queue; what was answered 503 is not.
      const messages = await probe.drain(queue);
      expect(messages.map((m) => m.properties.headers?.['x-delivery-id'])).toEqual(accepted);
    }, 60_000);
  });

  describe('PostgreSQL slow, then blackholed (a worker process behind the proxy, an api in this process)', () => {
    const PORT = 4230;
    const ADMIN_KEY = 'slow-dependencies-admin-key-0123456789abcdef';
    const prefix = uniquePrefix('slowdb');
    let scratch: ScratchDatabase;
    let proxy: FaultProxy;
    let worker: ServiceProcess;
    let api: TestApp;
    let db: Db;
    const sent: string[] = [];

    const storedOf = (ids: string[]) =>
      db.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [ids]);
    const rssOf = async () => {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
    };

    /** Deliveries of `size` events, one every `everyMs`, for `forMs`; each must be answered 200. */
    async function steadyLoad(forMs: number, everyMs: number, size: number): Promise<string[]> {
      const ids: string[] = [];
      const until = Date.now() + forMs;
      const pending: Promise<void>[] = [];
      for (let next = Date.now(); next < until; next += everyMs) {
        const batch = Array.from({ length: size }, () => envelope({ note: 'x'.repeat(400) }));
        ids.push(...batch.map((e) => e.eventId as string));
        pending.push(
          postWebhook(api.url, JSON.stringify(batch)).then(async (res) => {
            expect(res.status).toBe(200);
            await res.body?.cancel();
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next + everyMs - Date.now())));
      }
      await Promise.all(pending);
      sent.push(...ids);
      return ids;
    }

    beforeAll(async () => {
      scratch = await ScratchDatabase.create('slowdb');
      const target = new URL(scratch.url);
      proxy = await FaultProxy.start({
        target: { host: target.hostname, port: Number(target.port || 5432) },
      });
      const through = new URL(scratch.url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      worker = new ServiceProcess(PORT, {
        APP_ROLE: 'worker',
        AMQP_PREFIX: prefix,
        DATABASE_URL: through.toString(),
        CONSUMER_PREFETCH: '20',
        CONSUMER_BATCH_SIZE: '10',
        FEED_ENABLED: 'false',
        ADMIN_API_KEYS: ADMIN_KEY,
      });
      [api] = await Promise.all([startApp({ APP_ROLE: 'api', AMQP_PREFIX: prefix }), worker.start()]);
      db = await Db.connect(scratch.url);
    }, 60_000);

    afterAll(
      () =>
        cleanUp(
          () => worker?.dispose(),
          () => api?.close(),
          () => proxy?.close(),
          () => probe.deleteTopology(prefix),
          () => db?.close(),
          () => scratch?.drop(),
        ),
      30_000,
    );

    it('slow (200 ms each way): stores more slowly, loses nothing, and its memory stays bounded', async () => {
      const warmUp = await steadyLoad(500, 100, 20);
      await waitFor(async () => (await storedOf(warmUp)) === warmUp.length, { what: 'warm-up stored' });
      const baseline = await rssOf();

      await proxy.latency(200);
      const samples: number[] = [];
      const sampler = setInterval(() => {
        void rssOf().then(
          (rss) => samples.push(rss),
          () => undefined,
        );
      }, 500);
      const slowStart = Date.now();
      let load: string[] = [];
      try {
        load = await steadyLoad(8_000, 100, 20);
        const slowMs = Date.now() - slowStart;
        const storedSlow = await storedOf(load);
        const queued = await probe.messageCount(topologyFor(prefix).queue);
        console.log(
          `PostgreSQL slow: ${load.length} events sent in ${slowMs} ms, ${storedSlow} stored meanwhile ` +
            `(${Math.round((storedSlow * 1000) / slowMs)}/s), ${queued} deliveries waiting in RabbitMQ`,
        );
        // Behind: the backlog waits in the broker, not in the worker.
        expect(storedSlow).toBeLessThan(load.length);
        expect(queued).toBeGreaterThan(0);
      } finally {
        clearInterval(sampler);
      }

      await proxy.pass();
      const caughtUp = Date.now();
      await waitFor(async () => (await storedOf(load)) === load.length, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `all ${load.length} events stored once PostgreSQL is fast again`,
      });
      const fastMs = Date.now() - caughtUp;
      expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(sent.length);
      expect(await probe.messageCount(topologyFor(prefix).deadLetterQueue)).toBe(0);
      const peak = Math.max(...samples);
      console.log(
        `worker RSS: ${Math.round(baseline / 2 ** 20)} MB before, at most ${Math.round(peak / 2 ** 20)} MB ` +
          `over ${samples.length} samples while slow; the rest caught up in ${fastMs} ms`,
      );
      expect(samples.length).toBeGreaterThan(10);
      // 300 MB: the worker's own footprint (about 150 MB) twice over. It holds at most
      // CONSUMER_PREFETCH (20) deliveries of 20 events (~0.5 MB); the backlog stays in RabbitMQ.
      expect(peak).toBeLessThan(300 * 2 ** 20);
    }, 90_000);

    it(
      'blackholed: POSTs keep getting 200, the worker holds its batch, and resumes once it passes again',
      async () => {
        const queue = topologyFor(prefix).queue;
        await proxy.blackhole();
        const blackholed = Date.now();
        const during: string[] = [];
        for (let i = 0; i < 10; i++) {
          const batch = Array.from({ length: 5 }, () => envelope());
          const { value: res, ms } = await timed(() => postWebhook(api.url, JSON.stringify(batch)));
          expect(res.status).toBe(200);
          expect(ms).toBeLessThan(1000);
          during.push(...batch.map((e) => e.eventId as string));
        }
        sent.push(...during);
        await waitFor(async () => (await fetch(`${worker.url}/health/ready`)).status === 503, {
          timeoutMs: 20_000,
          what: 'the worker not ready without its database',
        });
        // Nothing is stored, nothing dead-lettered; the worker holds what it took (unacked).
        expect(await storedOf(during)).toBe(0);
        expect(await probe.messageCount(queue)).toBeLessThan(10);
        expect(await probe.messageCount(topologyFor(prefix).deadLetterQueue)).toBe(0);

        // The connections that went silent never answer again (their bytes were lost): the worker
        // gives such a connection up after SILENT_CONNECTION_MS without a byte, and retries the batch
        // on a new one. So it resumes within that bound of the blackhole, however soon it passes.
        await proxy.pass();
        const resumed = Date.now();
        await waitFor(async () => (await storedOf(during)) === during.length, {
          timeoutMs: SILENT_CONNECTION_MS + 15_000,
          intervalMs: 250,
          what: `the ${during.length} events held during the blackhole stored after it`,
        });
        console.log(
          `PostgreSQL blackholed for ${resumed - blackholed} ms; the held batch stored ${Date.now() - resumed} ms ` +
            `after it passed again (${Date.now() - blackholed} ms after it went silent)`,
        );
        expect(Date.now() - blackholed).toBeLessThan(SILENT_CONNECTION_MS + 15_000);
        expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(sent.length);
        expect(await probe.messageCount(queue)).toBe(0);
        expect(await probe.messageCount(topologyFor(prefix).deadLetterQueue)).toBe(0);
        await waitFor(async () => (await fetch(`${worker.url}/health/ready`)).status === 200, {
          what: 'the worker ready again',
        });
      },
      SILENT_CONNECTION_MS + 40_000,
    );

    it('answers /admin 503 with Retry-After while PostgreSQL refuses, and 200 once it is back', async () => {
      const events = () =>
        fetch(`${worker.url}/admin/events?limit=1`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
      expect((await events()).status).toBe(200);
      await proxy.refuse();
      await proxy.reset(); // the pooled connections go too: the next query needs a new one
      const refused = await events();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /^PostgreSQL is not reachable now \(.+\); try again shortly$/,
      );
      await proxy.pass();
      await waitFor(async () => (await events()).status === 200, { what: '/admin answering again' });
    }, 30_000);
  });
});
