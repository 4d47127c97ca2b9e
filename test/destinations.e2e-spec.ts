import { startApp, type TestApp } from './support/app';
import { Db } from './support/db';
import { DestinationReceiver, type ReceivedRequest } from './support/destination-receiver';
import {
  ADMIN_KEY,
  act,
  destinationList,
  destinationsFile,
  drained,
  newSecret,
  owed,
  verifies,
} from './support/destinations-setup';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

/*
 * HTTP destinations (DESTINATIONS_FILE) against the real PostgreSQL and RabbitMQ, each describe with
 * its own database, prefix, destinations and receivers inside the test. FEED_ENABLED=false: the
 * outbox is kept for the destinations alone. "Nothing else arrived" is proven with a witness: a
 * destination filtering `#` that has everything by the time the one under test is checked.
 */

async function post(url: string, ...events: Record<string, unknown>[]): Promise<void> {
  for (const event of events) {
    const res = await postWebhook(url, JSON.stringify(event));
    expect(res.status).toBe(200);
  }
}

const idsOf = (events: Record<string, unknown>[]) => events.map((e) => e.eventId as string);
const revisionOf = (request: ReceivedRequest) => Number(request.headers['x-revision']);

/** Starts the app with these destinations; everything is stopped after the describe. */
function withDestinations(tag: string, destinations: () => unknown[], retryBaseMs = 100) {
  const context = {} as { app: TestApp; db: Db };
  let scratch: ScratchDatabase;
  let file: ReturnType<typeof destinationsFile>;
  beforeAll(async () => {
    scratch = await ScratchDatabase.create(tag);
    file = destinationsFile(destinations());
    context.app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      AMQP_PREFIX: uniquePrefix(tag),
      FEED_ENABLED: 'false',
      DESTINATIONS_FILE: file.path,
      DESTINATIONS_RETRY_BASE_MS: String(retryBaseMs),
      ADMIN_API_KEYS: ADMIN_KEY,
    });
    context.db = await Db.connect(scratch.url);
  });
  afterAll(async () => {
    await context.app?.close();
    await context.db?.close();
    await scratch?.drop();
    file?.remove();
  });
  return context;
}

describe('destinations: what arrives, signed (filter, stale, repeats, two secrets)', () => {
  const [first, second] = [newSecret(), newSecret()];
  let crm: DestinationReceiver;
  let witness: DestinationReceiver;
  beforeAll(async () => {
    crm = await DestinationReceiver.start();
    witness = await DestinationReceiver.start();
  });
  afterAll(async () => Promise.all([crm.close(), witness.close()]));
  const ctx = withDestinations('dest_contract', () => [
    {
      name: 'crm',
      url: crm.url,
      secrets: [first.secret, second.secret],
      filter: ['applied.message.#'],
      headers: { 'X-Tenant': 'acme' },
    },
    { name: 'witness', url: witness.url, secrets: [first.secret] },
  ]);

  it('sends every matching event once, signed with both secrets, with the feed headers and the stored body', async () => {
    const sent = envelope({ name: 'message.sent', revision: 1 });
    const messageId = (sent.payload as { id: string }).id;
    const read = envelope({ name: 'message.read', revision: 3, payload: { id: messageId } });
    const staleDelivered = envelope({ name: 'message.delivered', revision: 2, payload: { id: messageId } });
    const click = envelope({ name: 'interaction.click', revision: 1, payload: { id: 'other' } });
    await post(ctx.app.url, sent, read, staleDelivered, click, read /* a repeat */);

    const everything = idsOf([sent, read, staleDelivered, click]);
    await waitFor(() => everything.every((id) => witness.deliveredIds().includes(id)), {
      what: 'the witness',
    });
    await drained(ctx.db, 'crm');

    const mine = crm.requests.filter((r) => everything.includes(String(r.headers['webhook-id'])));
    expect(mine.map((r) => r.headers['webhook-id'])).toEqual(idsOf([sent, read]));
    expect(
      witness
        .deliveredIds()
        .filter((id) => everything.includes(id))
        .sort(),
    ).toEqual([...everything].sort());

    const stored = await ctx.db.rows<{ event_id: string; payload: string }>(
      'SELECT event_id, payload::text AS payload FROM webhook_events WHERE event_id = ANY($1)',
      [idsOf([sent, read])],
    );
    for (const request of mine) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.body).toBe(
        stored.find((row) => row.event_id === request.headers['webhook-id'])!.payload,
      );
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
      // A receiver that knows either secret verifies: rotation.
      expect(verifies(first.verifier, request)).toBe(true);
      expect(verifies(second.verifier, request)).toBe(true);
      expect(request.headers).toMatchObject({
        'x-outcome': 'applied',
        'x-entity-type': 'message',
        'x-entity-id': messageId,
      });
      expect(request.headers['x-tenant']).toBe('acme');
      // Nothing of the service's own: no admin key, no webhook secret.
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers['x-comapi-signature']).toBeUndefined();
    }
    expect(mine.map(revisionOf)).toEqual([1, 3]);
  });

  it('lists the destinations with their state for the operations API, and needs a reason to act', async () => {
    const list = await destinationList(ctx.app.url);
    expect(list.get('crm')).toMatchObject({ state: 'active', circuitOpen: false, failed: 0 });
    expect((await act(ctx.app.url, 'crm', 'pause', {})).status).toBe(400);
    expect((await act(ctx.app.url, 'crm', 'pause', { reason: 'x' })).status).toBe(400);
    expect((await act(ctx.app.url, 'nope', 'pause')).status).toBe(404);
    const unauthenticated = await fetch(`${ctx.app.url}/admin/destinations`);
    expect(unauthenticated.status).toBe(401);
    expect(ADMIN_KEY.length).toBeGreaterThanOrEqual(32);
  });
});

describe('destinations: retries keep each entity in storage order', () => {
  const { secret } = newSecret();
  const firstSeen = new Map<string, number>();
  let throttled: DestinationReceiver;
  let flaky: DestinationReceiver;
  let redirecting: DestinationReceiver;
  let elsewhere: DestinationReceiver;
  let slow: DestinationReceiver;
  beforeAll(async () => {
    elsewhere = await DestinationReceiver.start();
    let answered = false;
    // Its first answer comes long after the destination's timeoutMs; the next at once.
    slow = await DestinationReceiver.start(() => {
      if (answered) return { status: 204 };
      answered = true;
      return { status: 204, delayMs: 3000 };
    });
    let redirected = false;
    redirecting = await DestinationReceiver.start(() => {
      if (redirected) return { status: 204 };
      redirected = true;
      return { status: 307, headers: { location: elsewhere.url } };
    });
    throttled = await DestinationReceiver.start(({ headers }) => {
      const id = String(headers['webhook-id']);
      if (firstSeen.has(id)) return { status: 200 };
      firstSeen.set(id, Date.now());
      return { status: 503, headers: { 'retry-after': '2' } };
    });
    let seed = 42;
    // A fixed pseudo-random sequence: the failures differ per request but the run is repeatable.
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    flaky = await DestinationReceiver.start(() => ({ status: random() < 0.4 ? 500 : 204 }));
  });
  afterAll(async () => Promise.all([throttled, flaky, redirecting, elsewhere, slow].map((r) => r.close())));
  const ctx = withDestinations('dest_retry', () => [
    { name: 'throttled', url: throttled.url, secrets: [secret] },
    { name: 'flaky', url: flaky.url, secrets: [secret], maxInFlight: 8 },
    { name: 'redirecting', url: redirecting.url, secrets: [secret], filter: ['*.message.failed'] },
    { name: 'slow', url: slow.url, secrets: [secret], filter: ['*.message.expired'], timeoutMs: 300 },
  ]);

  it('gives up a request at timeoutMs and sends the event again', async () => {
    const event = envelope({ name: 'message.expired' });
    await post(ctx.app.url, event);
    await waitFor(() => slow.requests.length >= 2, { timeoutMs: 20000, what: 'the retry' });
    const [first, second] = slow.requests
      .filter((r) => r.headers['webhook-id'] === event.eventId)
      .sort((a, b) => a.startedAt - b.startedAt);
    // The retry went out while the first answer was still 3 s away: the first request was abandoned.
    expect(second.startedAt).toBeLessThan(first.startedAt + 3000);
    const metrics = await (await fetch(`${ctx.app.url}/metrics`)).text();
    expect(metrics).toMatch(/webhook_destination_attempts_total\{destination="slow",result="timeout"\} 1\b/);
    await drained(ctx.db, 'slow');
  });

  it('never follows a redirect: a 3xx is a failure, retried at the same URL', async () => {
    const event = envelope({ name: 'message.failed' });
    await post(ctx.app.url, event);
    await waitFor(() => redirecting.deliveredIds().includes(event.eventId as string), { what: 'the retry' });
    expect(redirecting.requests.map((r) => r.status)).toEqual([307, 204]);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('retries a 503 with Retry-After: 2 no sooner than 2 s later', async () => {
    const event = envelope();
    await post(ctx.app.url, event);
    await waitFor(() => throttled.deliveredIds().includes(event.eventId as string), { timeoutMs: 20000 });
    const attempts = throttled.requests.filter((r) => r.headers['webhook-id'] === event.eventId);
    expect(attempts.map((r) => r.status)).toEqual([503, 200]);
    expect(attempts[1].startedAt - attempts[0].endedAt).toBeGreaterThanOrEqual(2000);
  });

  it('per message, the 2xx-answered requests follow the revisions while the receiver fails at random', async () => {
    const messages = Array.from({ length: 5 }, (_, n) => `order-${Date.now()}-${n}`);
    const events = [];
    for (let revision = 1; revision <= 6; revision++) {
      for (const messageId of messages) {
        events.push(
          envelope({
            name: revision === 1 ? 'message.sent' : 'message.read',
            revision,
            payload: { id: messageId },
          }),
        );
      }
    }
    await post(ctx.app.url, ...events);
    const ids = idsOf(events);
    await waitFor(() => ids.every((id) => flaky.deliveredIds().includes(id)), {
      timeoutMs: 60000,
      what: 'all delivered',
    });
    expect(flaky.requests.some((r) => r.status === 500)).toBe(true);
    for (const messageId of messages) {
      const delivered = flaky.delivered.filter((r) => r.headers['x-entity-id'] === messageId);
      expect(delivered.map(revisionOf)).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect(flaky.deliveredIds().filter((id) => ids.includes(id))).toHaveLength(ids.length);
  });
});

describe('destinations: 410, the circuit breaker, pause and resume', () => {
  const { secret } = newSecret();
  let gone: DestinationReceiver;
  let dead: DestinationReceiver;
  let held: DestinationReceiver;
  let witness: DestinationReceiver;
  let expiring: DestinationReceiver;
  beforeAll(async () => {
    expiring = await DestinationReceiver.start(() => ({ status: 500 }));
    let answered410 = false;
    gone = await DestinationReceiver.start(() => {
      if (answered410) return { status: 204 };
      answered410 = true;
      return { status: 410 };
    });
    dead = await DestinationReceiver.start(() => ({ status: 500, delayMs: 50 }));
    held = await DestinationReceiver.start();
    witness = await DestinationReceiver.start();
  });
  afterAll(async () => Promise.all([gone, dead, held, witness, expiring].map((r) => r.close())));
  const BASE_MS = 300;
  const ctx = withDestinations(
    'dest_ops',
    () => [
      { name: 'gone', url: gone.url, secrets: [secret] },
      { name: 'dead', url: dead.url, secrets: [secret], maxInFlight: 4, ordering: 'none' },
      { name: 'held', url: held.url, secrets: [secret] },
      { name: 'witness', url: witness.url, secrets: [secret] },
      // Gives an event up after about 1.8 s.
      {
        name: 'expiring',
        url: expiring.url,
        secrets: [secret],
        maxAgeHours: 0.0005,
        filter: ['*.message.expired'],
      },
    ],
    BASE_MS,
  );

  it('410 disables the destination and holds its events; enabling sends them, in order', async () => {
    const messageId = `gone-${Date.now()}`;
    const events = [1, 2, 3].map((revision) =>
      envelope({ name: 'message.read', revision, payload: { id: messageId } }),
    );
    await post(ctx.app.url, events[0]);
    await waitFor(() => gone.requests.length === 1, { what: 'the 410' });
    await waitFor(async () => (await destinationList(ctx.app.url)).get('gone')?.state === 'disabled');
    await post(ctx.app.url, events[1], events[2]);
    await waitFor(() => idsOf(events).every((id) => witness.deliveredIds().includes(id)), {
      what: 'the witness',
    });
    expect(await owed(ctx.db, 'gone')).toBe(3);
    expect(gone.requests).toHaveLength(1);

    const res = await act(ctx.app.url, 'gone', 'enable', { reason: 'receiver is back' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'gone', state: 'active', changed: true });
    await waitFor(() => gone.delivered.length === 3, { what: 'the held events' });
    expect(gone.delivered.map(revisionOf)).toEqual([1, 2, 3]);
  });

  it('opens the circuit after 5 failures in a row: one probe at a time, at the back-off interval', async () => {
    const events = Array.from({ length: 20 }, () => envelope());
    await post(ctx.app.url, ...events);
    await waitFor(async () => (await destinationList(ctx.app.url)).get('dead')?.circuitOpen, {
      what: 'the circuit open',
    });
    // Requests started before the circuit was seen open may still be under way; those started after are probes.
    const openAt = Date.now();
    const probes = () =>
      dead.requests.filter((r) => r.startedAt > openAt).sort((x, y) => x.startedAt - y.startedAt);
    await waitFor(() => probes().length >= 3, { timeoutMs: 30000, what: 'three probes' });
    const seen = probes();
    for (let n = 1; n < seen.length; n++) {
      expect(seen[n].startedAt).toBeGreaterThanOrEqual(seen[n - 1].endedAt);
      expect(seen[n].startedAt - seen[n - 1].endedAt).toBeGreaterThanOrEqual(BASE_MS - 50);
    }
    expect(dead.maxConcurrent).toBeLessThanOrEqual(4);
    const dest = (await destinationList(ctx.app.url)).get('dead')!;
    expect(dest.lastError).toBe('HTTP 500');
  });

  it('pause holds the events; resume sends them, in order', async () => {
    const paused = await act(ctx.app.url, 'held', 'pause', { reason: 'receiver maintenance' });
    expect(await paused.json()).toMatchObject({ state: 'paused', changed: true });
    expect((await act(ctx.app.url, 'held', 'enable')).status).toBe(409);
    const messageId = `held-${Date.now()}`;
    const events = [1, 2, 3, 4, 5].map((revision) =>
      envelope({ name: 'message.read', revision, payload: { id: messageId } }),
    );
    const before = held.requests.length;
    await post(ctx.app.url, ...events);
    await waitFor(() => idsOf(events).every((id) => witness.deliveredIds().includes(id)), {
      what: 'the witness',
    });
    expect(held.requests.length).toBe(before);
    expect(await owed(ctx.db, 'held')).toBe(5);

    expect((await act(ctx.app.url, 'held', 'resume', { reason: 'maintenance over' })).status).toBe(200);
    await drained(ctx.db, 'held');
    const mine = held.delivered.filter((r) => r.headers['x-entity-id'] === messageId);
    expect(mine.map(revisionOf)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives an event up after maxAgeHours (kept as failed); retry sends it again', async () => {
    const event = envelope({ name: 'message.expired' });
    await post(ctx.app.url, event);
    await waitFor(async () => (await owed(ctx.db, 'expiring', 'failed')) === 1, {
      timeoutMs: 20000,
      what: 'the event failed',
    });
    expect((await destinationList(ctx.app.url)).get('expiring')).toMatchObject({ failed: 1, pending: 0 });
    expiring.respond = () => ({ status: 204 });
    const res = await act(ctx.app.url, 'expiring', 'retry', { reason: 'receiver fixed' });
    expect(await res.json()).toMatchObject({ name: 'expiring', retried: 1 });
    await waitFor(() => expiring.deliveredIds().includes(event.eventId as string), {
      what: 'the retried event',
    });
    await waitFor(async () => (await owed(ctx.db, 'expiring', 'failed')) === 0, { what: 'nothing failed' });
  });
});

describe('destinations: DESTINATIONS_FILE at start-up and on reload', () => {
  const { secret } = newSecret();
  let first: DestinationReceiver;
  let second: DestinationReceiver;
  let scratch: ScratchDatabase;
  let app: TestApp | undefined;
  let file: ReturnType<typeof destinationsFile>;
  beforeAll(async () => {
    first = await DestinationReceiver.start();
    second = await DestinationReceiver.start();
    scratch = await ScratchDatabase.create('dest_reload');
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([first.close(), second.close()]);
    await scratch.drop();
    file?.remove();
  });

  const env = () => ({
    APP_ROLE: 'all',
    DATABASE_URL: scratch.url,
    AMQP_PREFIX: uniquePrefix('dest-reload'),
    FEED_ENABLED: 'false',
    DESTINATIONS_FILE: file.path,
    ADMIN_API_KEYS: ADMIN_KEY,
  });

  it('refuses to start with a bad file, naming the destination and the field', async () => {
    file = destinationsFile([{ name: 'crm', url: 'ftp://crm.example/in', secrets: [secret] }]);
    await expect(startApp(env())).rejects.toThrow(
      /DESTINATIONS_FILE .*destination "crm" \(entry 1\): url: must be an http/,
    );
    file.remove();
  });

  it('adds a destination on a change of the file, and keeps those in force when the new file is bad', async () => {
    file = destinationsFile([{ name: 'first', url: first.url, secrets: [secret] }]);
    app = await startApp(env());
    const before = envelope();
    await post(app.url, before);
    await waitFor(() => first.deliveredIds().includes(before.eventId as string), { what: 'first' });

    file.write([
      { name: 'first', url: first.url, secrets: [secret] },
      { name: 'second', url: second.url, secrets: [secret] },
    ]);
    await waitFor(async () => (await destinationList(app!.url)).has('second'), { what: 'the reload' });
    const after = envelope();
    await post(app.url, after);
    await waitFor(() => second.deliveredIds().includes(after.eventId as string), { what: 'second' });
    expect(second.deliveredIds()).not.toContain(before.eventId);

    file.write([{ name: 'first', url: first.url, secrets: ['not-a-secret'] }]);
    const metrics = async () => (await fetch(`${app!.url}/metrics`)).text();
    await waitFor(
      async () => /webhook_destinations_reloads_total\{result="failure"\} 1/.test(await metrics()),
      {
        what: 'the failed reload',
      },
    );
    const kept = envelope();
    await post(app.url, kept);
    await waitFor(() => second.deliveredIds().includes(kept.eventId as string), {
      what: 'second still in force',
    });
  });
});
