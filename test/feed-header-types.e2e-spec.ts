import { startApp, type TestApp } from './support/app';
import { AmqpWireTap, type WireHeader } from './support/amqp-wire';
import { uniquePrefix } from './support/env';
import { FeedQueue } from './support/feed-queue';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

/*
 * The feed's header types as they are on the wire (read under the client library, which would show
 * byte, short, int and long all as one JavaScript number): x-revision is a signed 64-bit integer for
 * every value, the other headers text, x-replayed a boolean. A Java consumer gets Long every time;
 * pika reads -5 as -5, not as the unsigned byte 251.
 */

const ADMIN_KEY = 'admin-key-of-the-header-type-tests-0123456789';
const REVISIONS = ['-5', '3', '300', '70000', String(2 ** 40), String(2n ** 60n), '9007199254740993'];

describe('feed headers: one AMQP type per header (APP_ROLE=all)', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let tap: AmqpWireTap;
  let feed: FeedQueue;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('feed_types');
    const prefix = uniquePrefix('feedtypes');
    tap = await AmqpWireTap.start({ host: '127.0.0.1', port: 5672 });
    feed = await FeedQueue.bind(prefix, { url: tap.url() });
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      AMQP_PREFIX: prefix,
      ADMIN_API_KEYS: ADMIN_KEY,
    });
  });

  afterAll(async () => {
    await app?.close();
    await feed?.deleteWithTopology();
    await tap?.close();
    await scratch?.drop();
  });

  const onWire = (eventId: string, replayed: boolean): Record<string, WireHeader> | undefined =>
    tap.messages.find(
      (headers) => headers['x-event-id']?.value === eventId && 'x-replayed' in headers === replayed,
    );

  it('sends x-revision as l (exact), every other header as S, for revisions -5 to 2^60', async () => {
    const sent = REVISIONS.map((revision) => {
      const event = envelope({ revision: '__r__' });
      return { event, revision, body: JSON.stringify(event).replace('"__r__"', revision) };
    });
    for (const { body } of sent) {
      const res = await postWebhook(app.url, body);
      expect([res.status, await res.json()]).toEqual([200, { accepted: 1, quarantined: 0 }]);
    }
    const ids = sent.map(({ event }) => event.eventId as string);
    await feed.waitForAll(ids);
    await waitFor(() => ids.every((id) => onWire(id, false)), { what: 'every message read on the wire' });

    for (const { event, revision } of sent) {
      const headers = onWire(event.eventId as string, false)!;
      expect([revision, headers['x-revision']]).toEqual([revision, { type: 'l', value: BigInt(revision) }]);
      const types = Object.entries(headers).filter(([name]) => name !== 'x-revision');
      expect(types.map(([name, header]) => [name, header.type])).toEqual(types.map(([name]) => [name, 'S']));
      expect(Object.keys(headers).sort()).toEqual([
        'x-api-space-id',
        'x-delivery-id',
        'x-entity-id',
        'x-entity-type',
        'x-event-id',
        'x-event-name',
        'x-outcome',
        'x-received-at',
        'x-revision',
      ]);
    }
  });

  it('sends x-replayed as a boolean (t), the rest as before', async () => {
    const event = envelope({ revision: 70000 });
    const since = new Date(Date.now() - 1000).toISOString();
    const res = await postWebhook(app.url, JSON.stringify(event));
    expect(res.status).toBe(200);
    await feed.waitForAll([event.eventId as string]);
    const replay = await fetch(`${app.url}/admin/events/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        since,
        until: new Date(Date.now() + 1000).toISOString(),
        reason: 'header types of a replay',
      }),
    });
    expect(replay.status).toBe(202);
    const headers = await waitFor(() => onWire(event.eventId as string, true), { what: 'the replayed copy' });
    expect(headers['x-replayed']).toEqual({ type: 't', value: true });
    expect(headers['x-revision']).toEqual({ type: 'l', value: 70000n });
    expect(headers['x-event-id'].type).toBe('S');
  });
});
