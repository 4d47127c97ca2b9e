import type { OutgoingHttpHeaders } from 'node:http';
import { BODY_LIMIT, CORPUS, TOKEN, type CorpusCase, type StoredEvent } from './corpus/cases';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { cleanUp } from './support/clean-up';
import { Db } from './support/db';
import { uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { httpSend, rawExchange, type WireAnswer } from './support/raw-http';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { FeedQueue } from './support/feed-queue';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * Sends every case of test/corpus/cases.ts to the real service (APP_ROLE=all): most to the app built
 * in this process, raw-socket and log cases to the built service (`node dist/main.js`, port 4210)
 * whose stdout is its log. Both store into one scratch database. First every case is sent and its
 * answer checked; then, once a sentinel sent behind them is stored (one consumer per service takes
 * its queue in order, so everything before the sentinel has been handled), the rows of every case.
 */

const SERVICE_PORT = 4210;

interface Sent {
  answers: WireAnswer[];
  deliveryIds: string[];
  closedByServer?: boolean;
  continued?: boolean;
}

interface LogLine {
  level: number;
  msg?: string;
  deliveryId?: string;
  eventIds?: string[];
  req?: { method?: string; url?: string };
  [field: string]: unknown;
}

const labelOf = (c: CorpusCase) => `${c.group}: ${c.name}`;
const statusesOf = (c: CorpusCase) => (Array.isArray(c.expect.status) ? c.expect.status : [c.expect.status]);

describe(`hostile-input corpus (${CORPUS.length} cases)`, () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let service: ServiceProcess;
  let db: Db;
  let probe: BrokerProbe;
  let feed: FeedQueue;
  const appPrefix = uniquePrefix('corpus-app');
  const servicePrefix = uniquePrefix('corpus-service');
  const sentinels = [envelope(), envelope()];
  const sent = new Map<CorpusCase, Sent>();
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  let serviceConflictsBefore = 0;

  const conflictCount = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^webhook_event_conflicts_total (\d+)/m.exec(text)?.[1] ?? NaN);
  };

  const logLines = (): LogLine[] =>
    service.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      });

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('corpus');
    const limits = { DATABASE_URL: scratch.url, BODY_LIMIT: String(BODY_LIMIT) };
    // The app relays the feed of what it stores (bound before it starts: nothing is missed); the
    // service does not, so one relay owns the shared outbox.
    feed = await FeedQueue.bind(appPrefix);
    app = await startApp({ APP_ROLE: 'all', AMQP_PREFIX: appPrefix, ...limits });
    service = new ServiceProcess(SERVICE_PORT, {
      APP_ROLE: 'all',
      AMQP_PREFIX: servicePrefix,
      LOG_LEVEL: 'info',
      FEED_ENABLED: 'false',
      ...limits,
    });
    await service.start();
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
    serviceConflictsBefore = await conflictCount(service.url);
  }, 60_000);

  afterAll(
    () =>
      cleanUp(
        () => service?.dispose(),
        () => app?.close(),
        () => feed?.delete(),
        () => probe?.deleteTopology(servicePrefix),
        () => app && probe?.deleteTopology(app.env.AMQP_PREFIX),
        () => probe?.close(),
        () => db?.close(),
        () => scratch?.drop(),
      ),
    60_000,
  );

  async function send(c: CorpusCase): Promise<Sent> {
    const base = c.target === 'app' ? app.url : service.url;
    if (c.send.kind === 'raw') {
      const port = Number(new URL(base).port);
      const exchange = await rawExchange(port, c.send.bytes, { timeoutMs: 5000 });
      const answers = exchange.answers.filter((answer) => answer.status >= 200);
      return { answers, deliveryIds: idsOf(answers), closedByServer: exchange.closedByServer };
    }
    const { method = 'POST', path = '/webhook', body, contentType, headers: extra = {}, chunkBytes } = c.send;
    const headers: OutgoingHttpHeaders = { ...extra };
    const type = contentType === undefined ? 'application/json' : contentType;
    if (type !== null) headers['Content-Type'] = type;
    const signature = c.send.signature === undefined ? sign(body ?? Buffer.alloc(0)) : c.send.signature;
    if (signature !== null) headers['X-Comapi-Signature'] = signature;
    const answer = await httpSend(base, {
      method,
      path,
      headers,
      body,
      chunkBytes,
      expectContinue: c.send.expectContinue,
    });
    return { answers: [answer], deliveryIds: idsOf([answer]), continued: answer.continued };
  }

  const idsOf = (answers: WireAnswer[]) =>
    answers.map((answer) => answer.headers['x-delivery-id']).filter((id): id is string => !!id);

  describe('the answer', () => {
    it.each(CORPUS.map((c) => [labelOf(c), c] as const))('%s', async (_, c) => {
      const result = await send(c);
      sent.set(c, result);
      const { answers } = result;
      expect(answers.map((a) => a.status)).toEqual(statusesOf(c));
      // Never a server error, whatever was sent.
      for (const answer of answers) expect(answer.status).toBeLessThan(500);
      const [first] = answers;
      if (c.expect.answer) expect(JSON.parse(first.body.toString('utf8'))).toMatchObject(c.expect.answer);
      if (c.expect.message) {
        expect(JSON.parse(first.body.toString('utf8'))).toMatchObject({
          message: expect.stringMatching(c.expect.message),
        });
      }
      if (c.send.kind === 'http' && first.status >= 400) {
        // The application's refusals are JSON naming the status.
        expect(first.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(first.body.toString('utf8'))).toMatchObject({ statusCode: first.status });
      }
      if (c.expect.html) {
        expect(first.headers['content-type']).toMatch(/^text\/html/);
        if (c.send.kind === 'http' && c.send.method === 'HEAD') expect(first.body.length).toBe(0);
        else expect(first.body.toString('utf8')).toContain('Dotdigital Omnichannel webhook receiver');
      }
      if (c.expect.closes) expect(result.closedByServer).toBe(true);
      if (c.send.kind === 'http' && c.send.expectContinue) expect(result.continued).toBe(true);
      // Every answer of the webhook route names its delivery.
      for (const answer of answers) {
        if (/"accepted"/.test(answer.body.toString('utf8')))
          expect(answer.headers['x-delivery-id']).toMatch(/^[0-9a-f-]{36}$/);
      }
    });

    it('leaves Object.prototype as it was (no key of any case polluted it)', () => {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      const plain = {} as Record<string, unknown>;
      expect(plain.polluted).toBeUndefined();
      expect(plain.eventId).toBeUndefined();
      expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    });
  });

  describe('the rows', () => {
    beforeAll(async () => {
      // A sentinel behind everything each service took: once stored, all before it was handled.
      for (const [url, sentinel] of [
        [app.url, sentinels[0]],
        [service.url, sentinels[1]],
      ] as const)
        expect((await postWebhook(url, JSON.stringify(sentinel))).status).toBe(200);
      await waitFor(
        async () =>
          (await db.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [
            sentinels.map((s) => s.eventId),
          ])) === 2,
        { timeoutMs: 60_000, intervalMs: 200, what: 'both sentinels stored behind the corpus' },
      );
    }, 70_000);

    it.each(CORPUS.map((c) => [labelOf(c), c] as const))('%s', async (_, c) => {
      const result = sent.get(c);
      if (!result) throw new Error('this case was not sent');
      const { deliveryIds } = result;
      await checkStored(c.expect.stored, deliveryIds);
      expect(
        await db.count('SELECT count(*) FROM webhook_events WHERE delivery_id = ANY($1)', [deliveryIds]),
      ).toBe(c.expect.stored.length);

      const kept = await db.rows<{ item_index: number | null; reason: string; body: Buffer }>(
        `SELECT item_index, reason, body FROM quarantined_deliveries
          WHERE delivery_id = ANY($1) ORDER BY item_index NULLS FIRST`,
        [deliveryIds],
      );
      expect(kept.map((row) => row.item_index)).toEqual(c.expect.quarantined.map((item) => item.itemIndex));
      kept.forEach((row, i) => {
        const wanted = c.expect.quarantined[i];
        expect(row.reason).toMatch(wanted.reason);
        expect(row.body.equals(wanted.body)).toBe(true);
      });
      // Without a delivery id to look by (refused before the route): no row holds its bytes.
      if (c.send.kind === 'http' && c.send.body && deliveryIds.length === 0) {
        expect(
          await db.count('SELECT count(*) FROM quarantined_deliveries WHERE body = $1', [c.send.body]),
        ).toBe(0);
      }

      if (c.expect.notStored?.length) {
        expect(
          await db.count('SELECT count(*) FROM webhook_events WHERE event_id = ANY($1)', [
            c.expect.notStored,
          ]),
        ).toBe(0);
      }

      for (const conflict of c.expect.conflicts ?? []) {
        const [row] = await db.rows<{ same: boolean; delivery_id: string }>(
          'SELECT payload = $2::jsonb AS same, delivery_id FROM webhook_events WHERE event_id = $1',
          [conflict.eventId, conflict.keeps],
        );
        expect(row).toEqual({ same: true, delivery_id: expect.any(String) });
        expect(deliveryIds).not.toContain(row.delivery_id);
      }

      for (const secret of c.expect.notLogged ?? []) expect(service.output).not.toContain(secret);
      if (c.expect.loggedUrl !== undefined) {
        const lines = await waitFor(
          () => {
            const found = logLines().filter(
              (line) => line.req && deliveryIds.includes(line.deliveryId ?? ''),
            );
            return found.length > 0 ? found : null;
          },
          { what: 'the request line of the delivery' },
        );
        for (const line of lines) expect(line.req?.url).toBe(c.expect.loggedUrl);
      }
    });

    async function checkStored(events: StoredEvent[], deliveryIds: string[]) {
      if (events.length === 0) return;
      const rows = await db.rows<Record<string, string | null> & { same: boolean; event_id: string }>(
        `SELECT e.event_id, e.name, e.account_id, e.api_space_id, e.entity_type, e.entity_id, e.revision, e.etag,
                e.outcome, e.delivery_id, e.payload = t.text::jsonb AS same,
                to_char(e.event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS event_timestamp
           FROM webhook_events e JOIN unnest($1::text[], $2::text[]) AS t(event_id, text) USING (event_id)`,
        [events.map((e) => e.eventId), events.map((e) => e.text)],
      );
      const byId = new Map(rows.map((row) => [row.event_id, row]));
      const missing = events.filter((e) => !byId.has(e.eventId)).map((e) => e.eventId);
      expect(missing).toEqual([]);
      // The whole envelope as sent (jsonb equality: every digit, every key, the last of repeated keys).
      expect(rows.filter((row) => !row.same).map((row) => row.event_id)).toEqual([]);
      expect(
        rows.filter((row) => !deliveryIds.includes(row.delivery_id ?? '')).map((row) => row.event_id),
      ).toEqual([]);
      for (const event of events) {
        const row = byId.get(event.eventId)!;
        if (event.columns) expect(row).toMatchObject(event.columns);
        for (const [path, value] of event.paths ?? []) {
          const [{ text }] = await db.rows<{ text: string | null }>(
            'SELECT payload #>> $2::text[] AS text FROM webhook_events WHERE event_id = $1',
            [event.eventId, path],
          );
          expect({ path, text }).toEqual({ path, text: value });
        }
      }
    }

    it('keeps the two deliveries whose eventIds differ only in invalid UTF-8 apart, each with its own bytes', async () => {
      const pair = CORPUS.filter((c) => c.group === 'issue (fixed)' && /invalid UTF-8/.test(c.name));
      expect(pair).toHaveLength(2);
      const bodies = await Promise.all(
        pair.map(async (c) => {
          const rows = await db.rows<{ body: Buffer }>(
            'SELECT body FROM quarantined_deliveries WHERE delivery_id = ANY($1)',
            [sent.get(c)!.deliveryIds],
          );
          expect(rows).toHaveLength(1);
          return rows[0].body;
        }),
      );
      expect(bodies[0].equals(bodies[1])).toBe(false);
      expect(bodies.map((body, i) => body.equals((pair[i].send as { body: Buffer }).body))).toEqual([
        true,
        true,
      ]);
    });

    it('counts each eventId repeated with other content in webhook_event_conflicts_total and logs it', async () => {
      const conflicts = CORPUS.filter((c) => c.target === 'service').flatMap((c) => c.expect.conflicts ?? []);
      expect(conflicts.length).toBeGreaterThan(0);
      expect((await conflictCount(service.url)) - serviceConflictsBefore).toBe(conflicts.length);
      const warned = logLines().filter((line) =>
        /eventId repeated with different content/.test(line.msg ?? ''),
      );
      expect(warned.flatMap((line) => line.eventIds ?? [])).toEqual(conflicts.map((c) => c.eventId));
      expect(warned.every((line) => line.level === 40)).toBe(true);
    });

    it('relays every event the app stored to the feed, ids and names AMQP cannot carry whole included', async () => {
      const wanted = [
        ...CORPUS.filter((c) => c.target === 'app').flatMap((c) => c.expect.stored.map((e) => e.eventId)),
        sentinels[0].eventId as string,
      ];
      const arrived = () => new Set(feed.copies.map((copy) => copy.headers['x-event-id'] as string));
      await waitFor(
        () => {
          const ids = arrived();
          return wanted.every((id) => ids.has(id));
        },
        {
          timeoutMs: 30_000,
          intervalMs: 200,
          what: `${wanted.length} events on the feed`,
        },
      ).catch((err: Error) => {
        const ids = arrived();
        const missing = wanted.filter((id) => !ids.has(id));
        throw new Error(`${err.message}: ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}`);
      });
      await waitFor(async () => (await db.count('SELECT count(*) FROM feed_outbox')) === 0, {
        what: 'the outbox drained',
      });
      // The longest: cut to AMQP's 255 bytes where they must be, whole in the headers.
      const longest = (pick: (id: string, name: string) => number) =>
        feed.copies.reduce((a, b) =>
          pick(b.headers['x-event-id'] as string, b.headers['x-event-name'] as string) >
          pick(a.headers['x-event-id'] as string, a.headers['x-event-name'] as string)
            ? b
            : a,
        );
      const byName = longest((_, name) => name.length);
      expect(Buffer.byteLength(byName.headers['x-event-name'] as string)).toBe(512);
      expect(byName.routingKey).toBe(`applied.${byName.headers['x-event-name'] as string}`.slice(0, 255));
      const byId = longest((id) => id.length);
      expect((byId.headers['x-event-id'] as string).length).toBeGreaterThan(400);
      expect(Buffer.byteLength(byId.eventId)).toBeLessThanOrEqual(255);
      expect(byId.eventId).toMatch(/~[0-9a-f]{40}$/);
      // The relay is not stuck on an event it cannot publish.
      const health = (await (await fetch(`${app.url}/health`)).json()) as {
        details: Record<string, unknown>;
      };
      expect(health.details.feed).toEqual({ status: 'up', state: 'relaying' });
    });

    it('leaves the service running, with no error line and the token nowhere in its log', async () => {
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
      const errors = logLines().filter((line) => line.level >= 50);
      expect(errors).toEqual([]);
      expect(service.output).not.toContain(TOKEN);
    });
  });
});
