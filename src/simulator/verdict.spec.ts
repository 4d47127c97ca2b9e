import type { PlannedDelivery } from './delivery.planner';
import type { SimEnvelope } from './envelope.types';
import type { FeedCheckResult } from './feed.watcher';
import { Ledger } from './ledger';
import type { StoreCheckResult } from './store.check';
import { buildVerdict } from './verdict';
import { formatVerdict } from './verdict.format';

const envelope = (eventId: string, revision: number): SimEnvelope => ({
  eventId,
  accountId: 1,
  apiSpaceId: 'space',
  name: 'message.sent',
  payload: { messageId: `m-${eventId}` },
  revision,
  etag: '"x"',
  timestamp: '2026-11-20T09:26:14.801Z',
});

const okAnswer = (accepted: number) => ({
  kind: 'answer' as const,
  status: 200,
  body: JSON.stringify({ accepted, quarantined: 0 }),
});

function run(statuses: number[]) {
  const planned: PlannedDelivery[] = statuses.map((_, index) => ({
    index,
    apiSpaceId: 'space',
    batch: index % 2 === 0,
    events: [envelope(`e${index}`, 1)],
    repeats: 0,
  }));
  const ledger = new Ledger(planned);
  statuses.forEach((status, index) => {
    const result = status === 200 ? okAnswer(1) : { kind: 'answer' as const, status, body: '' };
    ledger.recordAttempt(index, result);
    if (status === 200) ledger.acknowledge(index, result);
    else ledger.settle(index, status === 400 || status === 401 ? 'refused' : 'dropped');
  });
  return { planned, ledger };
}

const cleanStore = (events: number, entities: number): StoreCheckResult => ({
  events,
  entities,
  storedOnce: events,
  entitiesMatching: entities,
  missing: [],
  duplicated: [],
  payloadMismatch: [],
  wrongEntity: [],
  entityMismatch: [],
  waitedMs: 10,
});

const cleanFeed = (expected: number): FeedCheckResult => ({
  expected,
  arrived: expected,
  missing: [],
  duplicates: 0,
  contentMismatch: [],
  routingMismatch: [],
  unacknowledged: [],
  foreign: 0,
  waitedMs: 10,
});

const verdictOf = (statuses: number[], checks = {}) =>
  buildVerdict({ url: 'http://x/webhook', seed: 5, startedAt: new Date(), ...run(statuses), checks });

describe('buildVerdict', () => {
  it('balances when every delivery was acknowledged and every check agrees', () => {
    const verdict = verdictOf([200, 200, 200], { database: cleanStore(3, 3), feed: cleanFeed(3) });
    expect(verdict.balanced).toBe(true);
    expect(verdict.failures).toEqual([]);
    expect(verdict).toMatchObject({
      answers: { '200': 3 },
      deliveries: { acknowledged: 3, refused: 0, dropped: 0 },
      acknowledged: { events: 3, entities: 3 },
      lost: { count: 0 },
      run: { seed: 5, events: 3, deliveries: 3, batches: 2, singles: 1, largestBatch: 1 },
    });
    expect(formatVerdict(verdict)).toMatch(/^Dotdigital sender simulation: BALANCED/);
  });

  it('fails on a 400 and on every lost event, naming why they were lost', () => {
    const verdict = verdictOf([200, 400, 401, 503]);
    expect(verdict.balanced).toBe(false);
    expect(verdict.failures).toEqual([
      '1 well-formed signed deliveries answered 400 (Dotdigital drops those)',
      '3 events lost: no delivery carrying them was acknowledged (refused (400), refused (401), dropped (503))',
    ]);
    expect(verdict.lost.sample.map((l) => l.eventId)).toEqual(['e1', 'e2', 'e3']);
    expect(formatVerdict(verdict)).toContain('  FAIL  3 events lost');
  });

  it('fails on what a store check found missing, doubled, different or at the wrong revision', () => {
    const store: StoreCheckResult = {
      ...cleanStore(3, 3),
      storedOnce: 1,
      entitiesMatching: 2,
      missing: ['e0'],
      duplicated: ['e1'],
      payloadMismatch: ['e2'],
      wrongEntity: ['e2'],
      entityMismatch: [
        { key: { apiSpaceId: 'space', entityType: 'message', entityId: 'm' }, expected: 1, actual: null },
      ],
      error: 'connection refused',
    };
    const verdict = verdictOf([200, 200, 200], { admin: store });
    expect(verdict.failures).toEqual([
      'admin API: 1 acknowledged events not stored',
      'admin API: 1 events stored more than once',
      'admin API: 1 events stored with a payload other than the one sent',
      "admin API: 1 events stored with an entity other than the rule's",
      'admin API: 1 entities not at their highest acknowledged revision',
      'admin API: check incomplete: connection refused',
    ]);
    expect(verdict.checks.admin?.missing).toEqual({ count: 1, sample: ['e0'] });
  });

  it('fails on feed losses and on refused events that reached the feed; duplicates are only noted', () => {
    const feed: FeedCheckResult = {
      ...cleanFeed(1),
      arrived: 0,
      missing: ['e0'],
      duplicates: 2,
      unacknowledged: ['e1', 'e2'],
      foreign: 7,
    };
    const verdict = verdictOf([200, 401, 503], { feed });
    expect(verdict.failures).toContain('feed: 1 acknowledged events never arrived');
    expect(verdict.failures).toContain('feed: 1 events published although refused (400/401)');
    expect(verdict.notes).toEqual([
      'feed: 1 unacknowledged events were stored anyway',
      'feed: 2 duplicate copies (allowed: the feed is at least once)',
      "feed: 7 messages of other events (not this run's) ignored",
    ]);
  });

  it('explains an entity ahead of its acknowledged revision when acknowledgements were lost', () => {
    const key = { apiSpaceId: 'space', entityType: 'message', entityId: 'm-e0' };
    const store = {
      ...cleanStore(1, 1),
      entitiesMatching: 0,
      entityMismatch: [{ key, expected: 1, actual: '3' }],
    };
    const verdict = verdictOf([200, 503], { database: store });
    expect(verdict.failures).toContain('database: 1 entities not at their highest acknowledged revision');
    expect(verdict.notes).toContain(
      'database: 1 entities are ahead: an event whose acknowledgement was lost was stored',
    );
  });

  it('fails when a 2xx answer counted other events than were sent', () => {
    const { planned, ledger } = run([200]);
    ledger.acknowledge(0, { kind: 'answer', status: 200, body: '{"accepted":0,"quarantined":1}' });
    const verdict = buildVerdict({ url: 'u', seed: 1, startedAt: new Date(), planned, ledger, checks: {} });
    expect(verdict.failures).toEqual([
      '1 acknowledged deliveries answered other counts (sent 1, answered accepted 0, quarantined 1)',
    ]);
  });

  it('prints one row per check that ran', () => {
    const text = formatVerdict(verdictOf([200], { database: cleanStore(1, 1), feed: cleanFeed(1) }));
    expect(text).toContain('database      1/1 acknowledged events stored once');
    expect(text).toContain('feed          1/1 acknowledged events arrived');
    expect(text).not.toContain('admin API');
  });
});
