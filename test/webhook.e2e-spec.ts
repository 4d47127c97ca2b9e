import type { GetMessage } from 'amqplib';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { OTHER_SECRET, TEST_SECRET } from './support/env';
import { waitFor } from './support/poll';
import { SINGLE_FIXTURES, envelope, fixture, sign } from './support/signing';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Every answer body seen in this file: none may contain a configured secret. */
const answers: string[] = [];

/**
 * A plain HTTP request with exactly the headers given (no Content-Type added, repeated headers
 * possible); `chunked` streams the body without Content-Length.
 */
function send(
  url: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer; chunked?: boolean } = {},
): Promise<Answer> {
  const { method = 'POST', headers = {}, body, chunked = false } = options;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        headers: body && !chunked ? { 'Content-Length': body.length, ...headers } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          answers.push(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body && chunked) for (let i = 0; i < body.length; i += 256) req.write(body.subarray(i, i + 256));
    else if (body) req.write(body);
    req.end();
  });
}

/** POSTs `body` to /webhook signed with `secret` (or with the given signature; `null` sends none). */
function post(
  app: TestApp,
  body: Buffer | string,
  options: {
    signature?: string | null;
    contentType?: string | null;
    secret?: string;
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: OutgoingHttpHeaders = {};
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['Content-Type'] = contentType;
  const signature = options.signature === undefined ? sign(bytes, options.secret) : options.signature;
  if (signature !== null) headers['X-Comapi-Signature'] = signature;
  return send(`${app.url}/webhook`, { headers, body: bytes, chunked: options.chunked });
}

const json = (answer: Answer): Record<string, unknown> => JSON.parse(answer.text) as Record<string, unknown>;

async function readyApp(overrides: Record<string, string>): Promise<TestApp> {
  const app = await startApp(overrides);
  await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, {
    what: `app (${overrides.APP_ROLE}) ready`,
  });
  return app;
}

describe('POST /webhook (api role: nothing consumes the queue)', () => {
  let app: TestApp;
  let small: TestApp;
  let probe: BrokerProbe;
  let queue: string;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
    app = await readyApp({ APP_ROLE: 'api', WEBHOOK_SECRETS: `${TEST_SECRET},${OTHER_SECRET}` });
    small = await readyApp({ APP_ROLE: 'api', BODY_LIMIT: '1kb' });
    queue = topologyFor(app.env.AMQP_PREFIX).queue;
  });

  afterAll(async () => {
    for (const each of [app, small]) {
      if (!each) continue;
      await each.close();
      await probe.deleteTopology(each.env.AMQP_PREFIX);
    }
    await probe?.close();
  });

  afterEach(async () => {
    // Each test reads what it published; nothing may be left for the next one.
    await probe.drain(queue);
  });

  /** The one message the last request published, checked against the answer that reported it. */
  async function theQueuedMessage(answer: Answer, body: Buffer, itemCount: number): Promise<GetMessage> {
    const messages = await probe.drain(queue);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message.content.equals(body)).toBe(true);
    expect(message.properties.deliveryMode).toBe(2);
    const headers = message.properties.headers ?? {};
    expect(typeof answer.headers['x-delivery-id']).toBe('string');
    expect(headers['x-delivery-id']).toBe(answer.headers['x-delivery-id']);
    expect(Math.abs(Date.parse(String(headers['x-received-at'])) - Date.now())).toBeLessThan(60_000);
    expect(headers['x-item-count']).toBe(itemCount);
    return message;
  }

  describe.each(SINGLE_FIXTURES)('the signed fixture %s', (name) => {
    it('is answered 200 {"accepted":1,"quarantined":0} and queued byte for byte', async () => {
      const body = fixture(name);
      const answer = await post(app, body);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(json(answer)).toEqual({ accepted: 1, quarantined: 0 });
      await theQueuedMessage(answer, body, 1);
    });
  });

  it('answers the signed batch fixture 200 {"accepted":4,"quarantined":0} as one queued message', async () => {
    const body = fixture('batch.out-of-order.json');
    const answer = await post(app, body);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 4, quarantined: 0 });
    await theQueuedMessage(answer, body, 4);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['no Content-Type', null],
  ])('reads the body as raw bytes with %s', async (_, contentType) => {
    const body = fixture('message.delivered.json');
    const answer = await post(app, body, { contentType });
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 1, quarantined: 0 });
    await theQueuedMessage(answer, body, 1);
  });

  it('accepts a body streamed without Content-Length (chunked)', async () => {
    const body = fixture('batch.out-of-order.json');
    const answer = await post(app, body, { chunked: true });
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 4, quarantined: 0 });
    await theQueuedMessage(answer, body, 4);
  });

  it('accepts an upper-case hex signature', async () => {
    const body = fixture('message.read.json');
    const answer = await post(app, body, { signature: sign(body).toUpperCase() });
    expect(answer.status).toBe(200);
    await theQueuedMessage(answer, body, 1);
  });

  it('accepts a body signed with the second configured secret (rotation)', async () => {
    const body = fixture('message.sent.json');
    const answer = await post(app, body, { secret: OTHER_SECRET });
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 1, quarantined: 0 });
    await theQueuedMessage(answer, body, 1);
  });

  it('answers a 500-envelope batch 200 within the 10 s Dotdigital allows', async () => {
    const body = Buffer.from(JSON.stringify(Array.from({ length: 500 }, () => envelope())));
    const started = Date.now();
    const answer = await post(app, body);
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 500, quarantined: 0 });
    expect(elapsed).toBeLessThan(10_000);
    await theQueuedMessage(answer, body, 500);
  });

  it('accepts a batch of 501 envelopes (never refuses a large batch)', async () => {
    const body = Buffer.from(JSON.stringify(Array.from({ length: 501 }, () => envelope())));
    const answer = await post(app, body);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 501, quarantined: 0 });
    await theQueuedMessage(answer, body, 501);
  });

  it('answers [] 200 {"accepted":0,"quarantined":0} and still queues it', async () => {
    const body = Buffer.from('[]');
    const answer = await post(app, body);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 0, quarantined: 0 });
    await theQueuedMessage(answer, body, 0);
  });

  it('accepts a partly malformed batch 200, counting its good and bad items, and queues it whole', async () => {
    const items = [envelope(), { name: 'message.sent' }, envelope(), 'not an envelope', envelope(), null];
    const body = Buffer.from(JSON.stringify(items));
    const answer = await post(app, body);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 3, quarantined: 3 });
    await theQueuedMessage(answer, body, 6);
  });

  describe('refuses with 401 and publishes nothing', () => {
    const body = fixture('message.sent.json');
    const good = sign(body);
    it.each([
      ['a missing signature', null, /missing/],
      ['an empty signature', '', /does not match/],
      ['a non-hex signature', 'g'.repeat(40), /does not match/],
      ['a truncated signature (39 hex digits)', good.slice(0, 39), /does not match/],
      ['a signature one digit too long', `${good}a`, /does not match/],
      ['the base64 of the right digest', Buffer.from(good, 'hex').toString('base64'), /does not match/],
      [
        'a signature under a secret that is not configured',
        sign(body, 'not-configured-secret-0123'),
        /does not match/,
      ],
    ])('%s', async (_, signature, message) => {
      const answer = await post(app, body, { signature });
      expect(answer.status).toBe(401);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(json(answer)).toMatchObject({ statusCode: 401, message: expect.stringMatching(message) });
      expect(await probe.messageCount(queue)).toBe(0);
      expect(await probe.drain(queue)).toEqual([]);
    });

    it('a re-serialised body (same JSON, other bytes) under the signature of the original bytes', async () => {
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
      expect(reserialised.equals(body)).toBe(false);
      const answer = await post(app, reserialised, { signature: good });
      expect(answer.status).toBe(401);
      expect(json(answer)).toMatchObject({ statusCode: 401 });
      expect(await probe.drain(queue)).toEqual([]);
    });

    it('the signature sent twice', async () => {
      const answer = await send(`${app.url}/webhook`, {
        headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': [good, good] },
        body,
      });
      expect(answer.status).toBe(401);
      expect(await probe.drain(queue)).toEqual([]);
    });

    it('a malformed body without a valid signature (401, not 400)', async () => {
      const answer = await post(app, 'not json', { signature: sign('other bytes') });
      expect(answer.status).toBe(401);
      expect(await probe.drain(queue)).toEqual([]);
    });
  });

  describe('refuses a signed body it cannot understand with 400, after keeping its bytes in the queue', () => {
    it.each([
      ['an empty body', '', /empty/, 0],
      ['invalid JSON', '{"eventId": "x", ', /not valid JSON/, 0],
      ['a JSON number', '42', /object .*or an array/, 0],
      ['JSON null', 'null', /object .*or an array/, 0],
      ['a JSON string', '"message.sent"', /object .*or an array/, 0],
      ['an object that is not an envelope', '{"hello":"world"}', /not a well-formed envelope.*eventId/, 1],
      ['an envelope without a name', '{"eventId":"e-1"}', /not a well-formed envelope.*name/, 1],
    ])('%s', async (_, text, problem, itemCount) => {
      const body = Buffer.from(text, 'utf8');
      const answer = await post(app, body);
      expect(answer.status).toBe(400);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(json(answer)).toMatchObject({ statusCode: 400, message: expect.stringMatching(problem) });
      await theQueuedMessage(answer, body, itemCount);
    });
  });

  describe('refuses a body over BODY_LIMIT (1kb) with 413 before looking at the signature', () => {
    const body = Buffer.from(JSON.stringify(envelope({ payload: { id: 'm-big', text: 'x'.repeat(2048) } })));
    const smallQueue = () => topologyFor(small.env.AMQP_PREFIX).queue;

    it.each([
      ['validly signed', sign(body)],
      ['unsigned', null],
      ['badly signed', '0'.repeat(40)],
    ])('%s', async (_, signature) => {
      const answer = await post(small, body, { signature });
      expect(answer.status).toBe(413);
      expect(await probe.drain(smallQueue())).toEqual([]);
    });

    it('streamed without Content-Length', async () => {
      const answer = await post(small, body, { chunked: true });
      expect(answer.status).toBe(413);
      expect(await probe.drain(smallQueue())).toEqual([]);
    });

    it('while a body under the limit is still accepted there', async () => {
      const under = Buffer.from(JSON.stringify(envelope()));
      expect(under.length).toBeLessThan(1024);
      const answer = await post(small, under);
      expect(answer.status).toBe(200);
      const messages = await probe.drain(smallQueue());
      expect(messages.map((m) => m.content.equals(under))).toEqual([true]);
    });
  });

  it('serves GET /webhook as an HTML test page saying it is ready and linking the docs', async () => {
    const answer = await send(`${app.url}/webhook`, { method: 'GET' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.text).toMatch(/Ready: signed deliveries/);
    expect(answer.text).not.toMatch(/Not ready/);
    expect(answer.text).toContain('href="/docs"');
  });

  it('never shows a configured secret in any answer', () => {
    expect(answers.length).toBeGreaterThan(40);
    for (const text of answers) {
      expect(text).not.toContain(TEST_SECRET);
      expect(text).not.toContain(OTHER_SECRET);
    }
  });
});

describe('POST /webhook (all role: the consumer stores what the api accepted)', () => {
  let app: TestApp;
  let db: Db;
  let probe: BrokerProbe;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
    db = await Db.connect();
    app = await readyApp({ APP_ROLE: 'all' });
  });

  afterAll(async () => {
    if (app) {
      await app.close();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
    }
    await probe?.close();
    await db?.close();
  });

  interface QuarantineRow {
    body: Buffer;
    item_index: number | null;
    reason: string;
    delivery_id: string;
  }
  const quarantineOf = (deliveryId: string) =>
    db.rows<QuarantineRow>(
      'SELECT body, item_index, reason, delivery_id FROM quarantined_deliveries WHERE delivery_id = $1 ORDER BY item_index',
      [deliveryId],
    );

  it('keeps a 400 body byte for byte in quarantined_deliveries, as a whole delivery', async () => {
    const body = Buffer.from('{"eventId": 17, "name": "message.sent", "note": "Grüße"}', 'utf8');
    const answer = await post(app, body);
    expect(answer.status).toBe(400);
    const deliveryId = answer.headers['x-delivery-id'] as string;
    const rows = await waitFor(
      async () => {
        const found = await quarantineOf(deliveryId);
        return found.length > 0 ? found : null;
      },
      { what: 'the malformed delivery in quarantined_deliveries' },
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].body.equals(body)).toBe(true);
    expect(rows[0].item_index).toBeNull();
    expect(rows[0].reason).toMatch(/eventId/);
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = $1', [deliveryId])).toBe(
      0,
    );
  });

  it('stores the good events of a partly malformed batch and quarantines its bad item with its index', async () => {
    const good = [envelope({ name: 'message.sent' }), envelope({ name: 'message.read' })];
    const items = [good[0], { eventId: 'no-name-here' }, good[1]];
    const body = Buffer.from(JSON.stringify(items));
    const answer = await post(app, body);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ accepted: 2, quarantined: 1 });
    const deliveryId = answer.headers['x-delivery-id'] as string;

    const events = await waitFor(
      async () => {
        const found = await db.rows<{ event_id: string; name: string }>(
          'SELECT event_id, name FROM webhook_events WHERE delivery_id = $1 ORDER BY name DESC',
          [deliveryId],
        );
        return found.length === 2 ? found : null;
      },
      { what: 'the good events in webhook_events' },
    );
    expect(events).toEqual([
      { event_id: good[0].eventId, name: 'message.sent' },
      { event_id: good[1].eventId, name: 'message.read' },
    ]);

    const rows = await quarantineOf(deliveryId);
    expect(rows).toHaveLength(1);
    expect(rows[0].item_index).toBe(1);
    expect(rows[0].reason).toMatch(/name/);
    // The item's own bytes, as they stand in the signed body: not the whole delivery again.
    expect(rows[0].body.toString()).toBe(JSON.stringify(items[1]));
    expect(await db.count('SELECT count(*) FROM webhook_events WHERE event_id = $1', ['no-name-here'])).toBe(
      0,
    );
  });
});
