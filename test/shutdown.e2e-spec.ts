import { connect, type ChannelModel } from 'amqplib';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { DeliveryHeaders } from '../src/messaging/delivery-message';
import { topologyFor } from '../src/messaging/topology';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { AMQP_URL, runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ServiceProcess } from './support/service-process';
import { envelope, sign } from './support/signing';

/**
 * Graceful shutdown (docs/architecture.md, "Failures", rule 7) with the built service (`node dist/main.js`, APP_ROLE=all) in a child process:
 * SIGTERM stops new work, finishes what is in hand, closes cleanly and exits 0.
 * Ports 3310-3319 (this helper's range).
 */

type Outcome =
  | { kind: 'status'; status: number; retryAfter?: string }
  /** The connection was refused, or closed before any byte of an answer: nothing was acknowledged. */
  | { kind: 'refused'; code: string }
  | { kind: 'hung' }
  | { kind: 'error'; code: string };

/**
 * One POST on a connection of its own (no keep-alive reuse: a reused socket closed by the server at
 * the same instant is a client-side race of HTTP/1.1 that says nothing about the service).
 */
function postOnce(url: string, body: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    let answered = false;
    const req = httpRequest(
      `${url}/webhook`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          'X-Comapi-Signature': sign(body),
        },
      },
      (res) => {
        answered = true;
        res.resume();
        res.on('end', () =>
          resolve({
            kind: 'status',
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
          }),
        );
        res.on('error', (err: NodeJS.ErrnoException) =>
          resolve({ kind: 'error', code: err.code ?? err.message }),
        );
      },
    );
    // Longer than anything the service may take (PUBLISH_TIMEOUT_MS): an answer past it is a hang.
    req.setTimeout(15000, () => {
      resolve({ kind: 'hung' });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      // ECONNREFUSED: the listener is closed. ECONNRESET / "socket hang up" before any answer: the
      // connection was accepted by the kernel as the listener closed, or had no request read yet when
      // server.close() closed the idle connections (Node does both). Either way no answer came and
      // nothing was acknowledged, so Dotdigital retries it, like a refused connection.
      if (!answered && ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE'].includes(code))
        resolve({ kind: 'refused', code });
      else if (!answered && err.message === 'socket hang up') resolve({ kind: 'refused', code: 'hang-up' });
      else resolve({ kind: 'error', code });
    });
    req.end(body);
  });
}

const run = promisify(execFile);

/** Whether the broker lists a consumer on `queue`. */
async function consumersOf(queue: string): Promise<boolean> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_consumers', 'queue_name']);
  return stdout.split('\n').some((line) => line.trim() === queue);
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Parses one counter/gauge sample of a Prometheus text exposition. */
function sample(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.slice(name.length + 1));
}

function serviceEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return { APP_ROLE: 'all', DATABASE_URL: runDatabaseUrl(), AMQP_PREFIX: prefix, ...extra };
}

describe('graceful shutdown (SIGTERM)', () => {
  let db: Db;
  let probe: BrokerProbe;
  const services: ServiceProcess[] = [];
  const prefixes: string[] = [];

  const service = (port: number, env: Record<string, string>): ServiceProcess => {
    const process = new ServiceProcess(port, env);
    services.push(process);
    return process;
  };

  beforeAll(async () => {
    db = await Db.connect();
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    for (const process of services) await process.dispose();
    for (const prefix of prefixes) await probe.deleteTopology(prefix);
    await probe.close();
    await db.close();
  });

  const storedIds = (prefix: string) =>
    db
      .rows<{ event_id: string }>(
        `SELECT event_id FROM webhook_events WHERE event_id LIKE $1 ORDER BY event_id`,
        [`${prefix}%`],
      )
      .then((rows) => rows.map((row) => row.event_id));

  it('exits 0 under a stream of POSTs; each got 200, 503 or no connection, and every 200 is stored', async () => {
    const prefix = uniquePrefix('shutdown-stream');
    prefixes.push(prefix);
    const idPrefix = `sd-stream-${randomUUID()}-`;
    const api = service(3310, serviceEnv(prefix));
    await api.start();

    const outcomes: { eventId: string; outcome: Outcome }[] = [];
    let terminated = false;
    let sent = 0;
    const sender = async () => {
      for (;;) {
        if (sent >= 20000) return; // a bound in case the process never stops (the test then fails)
        const eventId = `${idPrefix}${String(sent++).padStart(6, '0')}`;
        const outcome = await postOnce(api.url, Buffer.from(JSON.stringify(envelope({ eventId }))));
        outcomes.push({ eventId, outcome });
        if (outcome.kind === 'refused' && terminated) return;
      }
    };
    const senders = Array.from({ length: 6 }, () => sender());

    await waitFor(() => outcomes.filter((o) => o.outcome.kind === 'status').length >= 150, {
      what: '150 answered POSTs',
    });
    terminated = true;
    const exit = await api.kill('SIGTERM');
    await Promise.all(senders);

    expect(exit).toEqual({ code: 0, signal: null });
    const unexpected = outcomes.filter(
      ({ outcome }) =>
        !(
          (outcome.kind === 'status' && outcome.status === 200) ||
          (outcome.kind === 'status' && outcome.status === 503 && outcome.retryAfter !== undefined) ||
          outcome.kind === 'refused'
        ),
    );
    expect(unexpected).toEqual([]);
    const accepted = outcomes
      .filter(({ outcome }) => outcome.kind === 'status' && outcome.status === 200)
      .map(({ eventId }) => eventId)
      .sort();
    expect(accepted.length).toBeGreaterThanOrEqual(150);
    // The stream ran until the listener was gone: the last answer of every sender was "no connection".
    expect(outcomes.filter(({ outcome }) => outcome.kind === 'refused').length).toBeGreaterThanOrEqual(6);

    // 200 means durable in RabbitMQ, not yet stored: deliveries accepted while the consumer was already
    // stopped wait in the queue. A fresh worker stores them; then exactly the accepted events are stored.
    const worker = service(3311, serviceEnv(prefix, { APP_ROLE: 'worker' }));
    await worker.start();
    await waitFor(async () => (await storedIds(idPrefix)).length >= accepted.length, {
      timeoutMs: 30000,
      what: 'every accepted event stored',
    });
    expect(await storedIds(idPrefix)).toEqual(accepted);
    expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('finishes the deliveries in hand and leaves the rest of a backlog queued, never redelivered', async () => {
    const prefix = uniquePrefix('shutdown-backlog');
    prefixes.push(prefix);
    const topology = topologyFor(prefix);
    const idPrefix = `sd-backlog-${randomUUID()}-`;
    const deliveries = 400;
    const perDelivery = 10;
    const prefetch = 10;
    const total = deliveries * perDelivery;
    const countStored = () =>
      db.count(`SELECT count(*) FROM webhook_events WHERE event_id LIKE $1`, [`${idPrefix}%`]);

    // A worker holding at most `prefetch` deliveries (5 per batch) is running when the backlog arrives.
    const first = service(
      3312,
      serviceEnv(prefix, { CONSUMER_PREFETCH: String(prefetch), CONSUMER_BATCH_SIZE: '5' }),
    );
    await first.start();

    // The first delivery carries revision 2 of an entity whose entity_revisions row the test holds, so
    // the worker's first transaction waits: SIGTERM then lands with deliveries in hand (one batch being
    // stored, the rest of its prefetch in its buffer) and the rest of the backlog still queued.
    const messageId = `sd-backlog-msg-${randomUUID()}`;
    await db.rows(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
       VALUES ('space-e2e', 'message', $1, 1, $2, 'message.sent')`,
      [messageId, `${idPrefix}seed`],
    );
    const locker = await Db.connect();
    try {
      const [{ pid }] = await locker.rows<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await locker.rows('BEGIN');
      await locker.rows(`SELECT * FROM entity_revisions WHERE entity_id = $1 FOR UPDATE`, [messageId]);

      const model: ChannelModel = await connect(AMQP_URL);
      try {
        const channel = await model.createConfirmChannel();
        for (let d = 0; d < deliveries; d++) {
          const batch = Array.from({ length: perDelivery }, (_, i) =>
            envelope({
              eventId: `${idPrefix}${String(d * perDelivery + i).padStart(6, '0')}`,
              ...(d === 0 && i === 0 ? { payload: { id: messageId }, revision: 2 } : {}),
            }),
          );
          const deliveryId = randomUUID();
          channel.publish(topology.exchange, topology.routingKey, Buffer.from(JSON.stringify(batch)), {
            persistent: true,
            messageId: deliveryId,
            headers: {
              [DeliveryHeaders.deliveryId]: deliveryId,
              [DeliveryHeaders.receivedAt]: new Date().toISOString(),
              [DeliveryHeaders.itemCount]: perDelivery,
            },
          });
        }
        await channel.waitForConfirms();
      } finally {
        await model.close();
      }
      await waitFor(
        () => db.count(`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]),
        { what: "the worker's first transaction waiting on the held row" },
      );
      // Its prefetch is used up: it has `prefetch` deliveries and the broker sends no more.
      await waitFor(async () => (await probe.messageCount(topology.queue)) === deliveries - prefetch, {
        what: 'the prefetch taken',
      });

      expect(await consumersOf(topology.queue)).toBe(true);
      const exited = first.kill('SIGTERM');
      // The consumer is cancelled at once, while the batch is held. (rabbitmqctl: a quorum queue's
      // consumerCount still counts a cancelled consumer until its deliveries are settled.)
      await waitFor(async () => !(await consumersOf(topology.queue)), { what: 'the consumer cancelled' });
      expect(await countStored()).toBe(0);
      await locker.rows('COMMIT');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      await locker.rows('ROLLBACK').catch(() => undefined);
      await locker.close();
    }

    // Everything it had taken was stored (and acknowledged) before it exited; nothing else was.
    expect(await countStored()).toBe(prefetch * perDelivery);
    // The rest is still queued, and none of it was ever delivered: had the worker stopped with
    // deliveries unacknowledged, the broker would have put them back marked `redelivered` (and, on a
    // quorum queue, with `x-delivery-count` above 0). Read without acknowledging; closing gives them back.
    // (Why the prefetch is used up before SIGTERM: a quorum queue on RabbitMQ 3.10 also marks as
    // redelivered messages that were on their way to a consumer when it was cancelled, although the
    // client never received them; with no credit left, none are on their way.)
    const inspect = await connect(AMQP_URL);
    let remaining = 0;
    const redelivered: string[] = [];
    try {
      const channel = await inspect.createChannel();
      for (
        let message = await channel.get(topology.queue);
        message;
        message = await channel.get(topology.queue)
      ) {
        remaining++;
        const deliveryCount = Number(message.properties.headers?.['x-delivery-count'] ?? 0);
        if (message.fields.redelivered || deliveryCount > 0)
          redelivered.push(String(message.properties.messageId));
      }
    } finally {
      await inspect.close();
    }
    expect(remaining).toBe(deliveries - prefetch);
    expect(redelivered).toEqual([]);

    // A fresh worker stores the rest; it sees no event twice (its duplicate counter stays 0).
    const second = service(3313, serviceEnv(prefix, { APP_ROLE: 'worker' }));
    await second.start();
    await waitFor(async () => (await countStored()) === total, {
      timeoutMs: 30000,
      what: 'the whole backlog stored',
    });
    await waitFor(async () => (await probe.messageCount(topology.queue)) === 0, { what: 'queue empty' });
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(sample(metrics, 'webhook_events_total{outcome="duplicate"}')).toBe(0);
    expect(sample(metrics, 'webhook_repeated_event_ids_total')).toBe(0);
    expect(
      sample(metrics, 'webhook_events_total{outcome="applied"}') +
        sample(metrics, 'webhook_events_total{outcome="untracked"}') +
        sample(metrics, 'webhook_events_total{outcome="stale"}'),
    ).toBe(total - prefetch * perDelivery);
    expect(
      await db.rows(`SELECT revision::int AS revision FROM entity_revisions WHERE entity_id = $1`, [
        messageId,
      ]),
    ).toEqual([{ revision: 2 }]);
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('answers /health/ready 503 while it finishes the batch in hand, and exits 0 despite a stalled upload', async () => {
    const prefix = uniquePrefix('shutdown-ready');
    prefixes.push(prefix);
    const topology = topologyFor(prefix);
    const api = service(3314, serviceEnv(prefix, { SHUTDOWN_TIMEOUT_MS: '4000' }));
    await api.start();

    // Revision 1 of an entity is stored; a transaction of the test then holds that entity's
    // entity_revisions row, so the worker's transaction storing revision 2 waits: a batch in hand.
    const messageId = `sd-msg-${randomUUID()}`;
    const first = envelope({ eventId: `sd-ready-${randomUUID()}`, payload: { id: messageId }, revision: 1 });
    const second = envelope({ eventId: `sd-ready-${randomUUID()}`, payload: { id: messageId }, revision: 2 });
    expect(await postOnce(api.url, Buffer.from(JSON.stringify(first)))).toMatchObject({ status: 200 });
    await waitFor(() => db.count(`SELECT count(*) FROM webhook_events WHERE event_id = $1`, [first.eventId]));

    const locker = await Db.connect();
    let stalled: Socket | undefined;
    try {
      const [{ pid }] = await locker.rows<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await locker.rows('BEGIN');
      await locker.rows(`SELECT * FROM entity_revisions WHERE entity_id = $1 FOR UPDATE`, [messageId]);
      expect(await postOnce(api.url, Buffer.from(JSON.stringify(second)))).toMatchObject({ status: 200 });
      await waitFor(
        () => db.count(`SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]),
        { what: "the worker's transaction waiting on the held row" },
      );

      // A client that sends headers and part of a body, then nothing: an upload in flight.
      const socket = tcpConnect(api.port, '127.0.0.1');
      stalled = socket;
      let stalledAnswer = '';
      socket.on('data', (chunk: Buffer) => (stalledAnswer += chunk.toString()));
      const stalledClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        'POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Content-Length: 100000\r\nX-Comapi-Signature: ${'0'.repeat(40)}\r\n\r\n[`,
      );

      const exited = api.kill('SIGTERM');
      const ready = await waitFor(
        async () => {
          const answer = await get(`${api.url}/health/ready`);
          return answer.status === 503 ? answer : null;
        },
        { what: '/health/ready 503' },
      );
      expect(ready.body).toMatchObject({ error: { lifecycle: { status: 'down', state: 'shutting down' } } });
      expect((await get(`${api.url}/health/live`)).status).toBe(200);
      const late = await postOnce(api.url, Buffer.from(JSON.stringify(envelope())));
      expect(late).toMatchObject({ kind: 'status', status: 503 });
      expect(late.kind === 'status' && late.retryAfter).toBeTruthy();
      // Still finishing the batch in hand: revision 2 is not stored yet.
      expect(
        await db.count(`SELECT count(*) FROM webhook_events WHERE event_id = $1`, [second.eventId]),
      ).toBe(0);

      await locker.rows('COMMIT');
      expect(await exited).toEqual({ code: 0, signal: null });
      // The stalled upload was cut at SHUTDOWN_TIMEOUT_MS without an answer (Dotdigital retries it).
      await stalledClosed;
      expect(stalledAnswer).toBe('');
    } finally {
      stalled?.destroy();
      await locker.rows('ROLLBACK').catch(() => undefined);
      await locker.close();
    }

    // The batch in hand was stored and acknowledged before the exit: stored once, nothing left queued.
    expect(
      await db.rows(`SELECT event_id, outcome FROM webhook_events WHERE event_id = $1`, [second.eventId]),
    ).toEqual([{ event_id: second.eventId, outcome: 'applied' }]);
    expect(
      await db.rows(`SELECT revision::int AS revision FROM entity_revisions WHERE entity_id = $1`, [
        messageId,
      ]),
    ).toEqual([{ revision: 2 }]);
    expect(await probe.messageCount(topology.queue)).toBe(0);
  });
});
