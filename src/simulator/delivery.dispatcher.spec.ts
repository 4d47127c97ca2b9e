import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dispatchDeliveries, type DispatchOptions } from './delivery.dispatcher';
import { planDeliveries } from './delivery.planner';
import { Ledger } from './ledger';
import { RandomSource } from './random.source';
import { resolveOptions } from './simulation.options';
import { generateWorkload } from './workload.generator';

const SECRET = 'stand-in-secret-0123456789';

interface Received {
  at: number;
  body: Buffer;
  /** How many times these exact bytes arrived, this one included. */
  attempt: number;
  signatureValid: boolean;
}

/**
 * A node:http stand-in for the service: it records every request, checks its signature the way
 * Dotdigital documents it, and answers as `respond` says (or never, when `respond` does not answer).
 */
async function standIn(respond: (request: Received, res: ServerResponse) => unknown) {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => (inFlight -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const digest = createHash('sha1').update(body).digest('hex');
      const attempt = (attempts.get(digest) ?? 0) + 1;
      attempts.set(digest, attempt);
      const expected = createHmac('sha1', SECRET).update(body).digest('hex');
      const request = {
        at: Date.now(),
        body,
        attempt,
        signatureValid: req.headers['x-comapi-signature'] === expected,
      };
      received.push(request);
      respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    maxInFlight: () => maxInFlight,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const reply = (res: ServerResponse, status: number, body: unknown = {}) =>
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));

const accepted = (request: Received, res: ServerResponse) => {
  const parsed: unknown = JSON.parse(request.body.toString('utf8'));
  reply(res, 200, { accepted: Array.isArray(parsed) ? parsed.length : 1, quarantined: 0 });
};

function workload(events = 30) {
  const options = resolveOptions({ secret: SECRET, events, batchShare: 0.5, batchSize: 5, repeatShare: 0.1 });
  const random = new RandomSource(3);
  const deliveries = planDeliveries(generateWorkload(options, random), options, random);
  return { deliveries, ledger: new Ledger(deliveries) };
}

function options(url: string, overrides: Partial<DispatchOptions> = {}): DispatchOptions {
  return {
    url,
    secret: SECRET,
    concurrency: 4,
    requestTimeoutMs: 2000,
    timeScale: 1,
    on401: 'drop',
    ...overrides,
  };
}

describe('dispatchDeliveries against a stand-in service', () => {
  let server: Awaited<ReturnType<typeof standIn>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('signs every delivery over its exact bytes and acknowledges on 2xx', async () => {
    server = await standIn(accepted);
    const { deliveries, ledger } = workload();
    await dispatchDeliveries(deliveries, options(server.url), ledger);

    expect(server.received).toHaveLength(deliveries.length);
    expect(server.received.every((r) => r.signatureValid)).toBe(true);
    expect(ledger.deliveries.every((d) => d.outcome === 'acknowledged' && !d.answerMismatch)).toBe(true);
    expect(ledger.answerCounts()).toEqual({ '200': deliveries.length });
    expect(ledger.retries).toBe(0);
    expect(ledger.acknowledgedEvents().size).toBe(30);
    expect(ledger.lostEvents()).toEqual([]);
  });

  it('retries a 503 on the scaled schedule with the very same bytes and signature', async () => {
    server = await standIn((request, res) =>
      request.attempt <= 2 ? reply(res, 503) : accepted(request, res),
    );
    const { deliveries, ledger } = workload(8);
    await dispatchDeliveries(deliveries, options(server.url, { timeScale: 0.01 }), ledger);

    expect(ledger.retries).toBe(2 * deliveries.length);
    expect(ledger.deliveries.every((d) => d.attempts.join() === '503,503,200')).toBe(true);
    const byBody = new Map<string, Received[]>();
    for (const r of server.received)
      byBody.set(r.body.toString(), [...(byBody.get(r.body.toString()) ?? []), r]);
    expect(byBody.size).toBe(deliveries.length);
    for (const attempts of byBody.values()) {
      expect(attempts.every((r) => r.signatureValid)).toBe(true);
      // 5 s and 5 s at scale 0.01: about 50 ms each, far from the unscaled 5 s.
      for (const gap of [attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at]) {
        expect(gap).toBeGreaterThanOrEqual(45);
        expect(gap).toBeLessThan(1500);
      }
    }
  });

  it.each([400, 401])(
    'never retries a %i (--on-401 drop, the default): the events are lost and the ledger says so',
    async (status) => {
      server = await standIn((_request, res) => reply(res, status, { message: 'no' }));
      const { deliveries, ledger } = workload(10);
      await dispatchDeliveries(deliveries, options(server.url, { timeScale: 0 }), ledger);

      expect(server.received).toHaveLength(deliveries.length);
      expect(ledger.retries).toBe(0);
      expect(ledger.deliveries.every((d) => d.outcome === 'refused')).toBe(true);
      expect(ledger.acknowledgedEvents().size).toBe(0);
      const lost = ledger.lostEvents();
      expect(lost).toHaveLength(10);
      expect(lost[0].reasons[0]).toBe(`refused (${status})`);
    },
  );

  it('retries a 401 on the schedule with --on-401 retry (a fixed secret then lets it through), never a 400', async () => {
    server = await standIn((request, res) =>
      request.attempt === 1 ? reply(res, 401) : accepted(request, res),
    );
    const { deliveries, ledger } = workload(6);
    await dispatchDeliveries(deliveries, options(server.url, { timeScale: 0, on401: 'retry' }), ledger);
    expect(
      ledger.deliveries.every((d) => d.attempts.join() === '401,200' && d.outcome === 'acknowledged'),
    ).toBe(true);
    expect(ledger.retries).toBe(deliveries.length);
    expect(ledger.lostEvents()).toEqual([]);

    await server.close();
    server = await standIn((_request, res) => reply(res, 400));
    const refused = workload(3);
    await dispatchDeliveries(
      refused.deliveries,
      options(server.url, { timeScale: 0, on401: 'retry' }),
      refused.ledger,
    );
    expect(refused.ledger.deliveries.every((d) => d.outcome === 'refused')).toBe(true);
    expect(refused.ledger.retries).toBe(0);
  });

  it('drops a delivery after 18 attempts (17 retries) of a status it keeps retrying', async () => {
    server = await standIn((_request, res) => reply(res, 500));
    const { deliveries, ledger } = workload(1);
    // 24 h of schedule at 1e-5: under a second.
    await dispatchDeliveries(deliveries, options(server.url, { timeScale: 1e-5 }), ledger);

    expect(server.received).toHaveLength(18);
    expect(ledger.retries).toBe(17);
    expect(ledger.deliveries[0].outcome).toBe('dropped');
    expect(ledger.lostEvents()[0].reasons).toEqual(['dropped (500)']);
  });

  it('gives up on an answer that takes longer than the request timeout, unscaled, and retries', async () => {
    server = await standIn((request, res) => (request.attempt === 1 ? undefined : accepted(request, res)));
    const { deliveries, ledger } = workload(1);
    await dispatchDeliveries(
      deliveries,
      options(server.url, { requestTimeoutMs: 300, timeScale: 0 }),
      ledger,
    );

    expect(ledger.deliveries[0].attempts).toEqual(['timeout', '200']);
    expect(server.received[1].at - server.received[0].at).toBeGreaterThanOrEqual(290);
    expect(ledger.deliveries[0].outcome).toBe('acknowledged');
  });

  it('retries connection errors', async () => {
    server = await standIn(accepted);
    const url = server.url;
    await server.close();
    server = undefined;
    const { deliveries, ledger } = workload(1);
    await dispatchDeliveries(deliveries, options(url, { retryDelaysMs: [0, 0], timeScale: 1 }), ledger);

    expect(ledger.deliveries[0].attempts).toEqual([
      'connection error',
      'connection error',
      'connection error',
    ]);
    expect(ledger.deliveries[0].outcome).toBe('dropped');
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server = await standIn((request, res) => setTimeout(() => accepted(request, res), 20));
    const { deliveries, ledger } = workload(60);
    expect(deliveries.length).toBeGreaterThan(10);
    await dispatchDeliveries(deliveries, options(server.url, { concurrency: 3 }), ledger);
    expect(server.maxInFlight()).toBe(3);
  });

  it('spaces requests by the rate limit', async () => {
    server = await standIn(accepted);
    const { deliveries, ledger } = workload(20);
    const started = Date.now();
    await dispatchDeliveries(deliveries.slice(0, 10), options(server.url, { ratePerSecond: 40 }), ledger);
    // 10 requests at 40/s: the last one starts 9 × 25 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(220);
  });

  it('records a 2xx whose counts disagree with what was sent', async () => {
    server = await standIn((_request, res) => reply(res, 200, { accepted: 0, quarantined: 1 }));
    const { deliveries, ledger } = workload(1);
    await dispatchDeliveries(deliveries, options(server.url), ledger);
    expect(ledger.deliveries[0].answerMismatch).toBe('sent 1, answered accepted 0, quarantined 1');
  });
});
