import { entityKeyText, type SimEnvelope } from './envelope.types';
import type { ExpectedEntity } from './ledger';
import {
  checkStore,
  FatalCheckError,
  type EntityObservation,
  type StoreReader,
  type StoredEvent,
} from './store.check';

const envelope = (eventId: string, revision: number): SimEnvelope => ({
  eventId,
  accountId: 1,
  apiSpaceId: 'space',
  name: 'message.sent',
  payload: { messageId: 'm-1', details: { channel: 'sms' } },
  revision,
  etag: '"x"',
  timestamp: '2026-11-20T09:26:14.801Z',
});

const key = { apiSpaceId: 'space', entityType: 'message', entityId: 'm-1' };
const expectedOf = (events: SimEnvelope[], revision: number) => ({
  events: new Map(events.map((e) => [e.eventId, e])),
  entities: new Map<string, ExpectedEntity>([[entityKeyText(key), { key, revision }]]),
});

/**
 * A reader over an in-memory "store" that tests change between polls: it plays the part of the
 * database or admin API answering, to exercise the polling and judging rules.
 */
class ScriptedReader implements StoreReader {
  /** Per id, the stored payloads; each stored with the entity the rule gives, unless in `otherEntity`. */
  events = new Map<string, unknown[]>();
  otherEntity = new Map<string, { entityType: string; entityId: string | null }>();
  entity: EntityObservation = { revision: null };
  reads = 0;
  onRead: (reader: ScriptedReader) => void = () => undefined;

  readEvents(ids: string[]) {
    this.reads += 1;
    this.onRead(this);
    const rows = [...this.events]
      .filter(([id]) => ids.includes(id))
      .map(([id, payloads]): [string, StoredEvent[]] => [
        id,
        payloads.map((payload) => ({
          payload,
          ...(this.otherEntity.get(id) ?? { entityType: 'message', entityId: 'm-1' }),
        })),
      ]);
    return Promise.resolve(new Map(rows));
  }
  readEntities() {
    return Promise.resolve(new Map([[entityKeyText(key), this.entity]]));
  }
  close() {
    return Promise.resolve();
  }
}

const timing = { settleTimeoutMs: 2000, pollIntervalMs: 10 };

describe('checkStore', () => {
  const [a, b] = [envelope('a', 1), envelope('b', 2)];

  it('polls until storage caught up, then balances', async () => {
    const reader = new ScriptedReader();
    reader.onRead = (r) => {
      if (r.reads === 2) r.events.set('a', [JSON.parse(JSON.stringify(a))]);
      if (r.reads === 4) {
        // jsonb gives keys back in its own order: still the same envelope.
        const { eventId, payload, ...rest } = b;
        r.events.set('b', [{ payload, ...rest, eventId }]);
        r.entity = { revision: '2' };
      }
    };
    const result = await checkStore(reader, expectedOf([a, b], 2), timing);
    expect(reader.reads).toBe(4);
    expect(result).toMatchObject({
      events: 2,
      storedOnce: 2,
      entitiesMatching: 1,
      missing: [],
      duplicated: [],
      payloadMismatch: [],
      wrongEntity: [],
      entityMismatch: [],
    });
    expect(result.error).toBeUndefined();
  });

  it('reports what is still missing or behind when the settle timeout passes', async () => {
    const reader = new ScriptedReader();
    reader.events.set('a', [a]);
    reader.entity = { revision: '1' };
    const result = await checkStore(reader, expectedOf([a, b], 2), {
      settleTimeoutMs: 100,
      pollIntervalMs: 10,
    });
    expect(result.missing).toEqual(['b']);
    expect(result.entityMismatch).toEqual([{ key, expected: 2, actual: '1' }]);
    expect(result.waitedMs).toBeGreaterThanOrEqual(100);
  });

  it('reports events stored twice, stored with another payload, and entities ahead without waiting', async () => {
    const reader = new ScriptedReader();
    reader.events.set('a', [a, a]);
    reader.events.set('b', [{ ...b, revision: 9 }]);
    reader.entity = { revision: '3' };
    const result = await checkStore(reader, expectedOf([a, b], 2), {
      settleTimeoutMs: 5000,
      pollIntervalMs: 10,
    });
    expect(result.duplicated).toEqual(['a']);
    expect(result.payloadMismatch).toEqual(['b']);
    expect(result.entityMismatch).toEqual([{ key, expected: 2, actual: '3' }]);
    expect(result.storedOnce).toBe(1);
    expect(result.waitedMs).toBeLessThan(1000);
  });

  it('reports an event stored with an entity other than the rule names (e.g. a presence event without its profileId)', async () => {
    const presence: SimEnvelope = {
      eventId: 'p',
      accountId: 1,
      apiSpaceId: 'space',
      name: 'presence.available',
      profileId: 'PLATFORMUSER\\joe',
      timestamp: '2026-11-20T09:26:14.801Z',
    };
    const reader = new ScriptedReader();
    reader.events.set('a', [a]);
    reader.events.set('p', [presence]);
    reader.otherEntity.set('p', { entityType: 'presence', entityId: null });
    reader.entity = { revision: '1' };
    const expected = expectedOf([a, presence], 1);
    const result = await checkStore(reader, expected, timing);
    expect(result.wrongEntity).toEqual(['p']);
    expect(result.payloadMismatch).toEqual([]);

    reader.otherEntity.set('p', { entityType: 'presence', entityId: 'PLATFORMUSER\\joe' });
    expect((await checkStore(reader, expected, timing)).wrongEntity).toEqual([]);
  });

  it('finds an event listed twice under its entity (how the admin API shows a double)', async () => {
    const reader = new ScriptedReader();
    reader.events.set('a', [a]);
    reader.entity = { revision: '1', eventIds: ['a', 'a'] };
    const result = await checkStore(reader, expectedOf([a], 1), timing);
    expect(result.duplicated).toEqual(['a']);
  });

  it('keeps polling through transient errors and stops at once on a fatal one', async () => {
    const flaky = new ScriptedReader();
    flaky.onRead = (r) => {
      if (r.reads === 1) throw new Error('connection reset');
      r.events.set('a', [a]);
      r.entity = { revision: '1' };
    };
    const recovered = await checkStore(flaky, expectedOf([a], 1), timing);
    expect(recovered.error).toBeUndefined();
    expect(recovered.storedOnce).toBe(1);

    const refused = new ScriptedReader();
    refused.onRead = () => {
      throw new FatalCheckError('the operations API refused the admin key (401)');
    };
    const result = await checkStore(refused, expectedOf([a], 1), {
      settleTimeoutMs: 5000,
      pollIntervalMs: 10,
    });
    expect(refused.reads).toBe(1);
    expect(result.error).toBe('the operations API refused the admin key (401)');
    expect(result.missing).toEqual(['a']);
  });

  it('balances trivially when nothing was acknowledged', async () => {
    const reader = new ScriptedReader();
    const result = await checkStore(reader, { events: new Map(), entities: new Map() }, timing);
    expect(result).toMatchObject({ events: 0, storedOnce: 0, missing: [], entityMismatch: [] });
  });
});
