import type { PlannedDelivery } from './delivery.planner';
import type { FeedCheckResult } from './feed.watcher';
import type { Ledger } from './ledger';
import { isAhead, type EntityMismatch, type StoreCheckResult } from './store.check';

const SAMPLE = 20;

export interface Sample<T = string> {
  count: number;
  sample: T[];
}

export interface StoreCheckSummary {
  events: number;
  storedOnce: number;
  entities: number;
  entitiesMatching: number;
  missing: Sample;
  duplicated: Sample;
  payloadMismatch: Sample;
  wrongEntity: Sample;
  entityMismatch: Sample<EntityMismatch>;
  error?: string;
  waitedMs: number;
}

export interface FeedCheckSummary {
  expected: number;
  arrived: number;
  missing: Sample;
  duplicates: number;
  contentMismatch: Sample;
  routingMismatch: Sample;
  unacknowledged: Sample;
  foreign: number;
  error?: string;
  waitedMs: number;
}

/** The outcome of a run: `balanced` only when nothing is listed under `failures`. */
export interface Verdict {
  balanced: boolean;
  failures: string[];
  notes: string[];
  run: {
    url: string;
    seed: number;
    startedAt: string;
    durationMs: number;
    events: number;
    repeats: number;
    deliveries: number;
    batches: number;
    singles: number;
    largestBatch: number;
  };
  /** Attempts by answer: status code, `timeout`, `connection error`. */
  answers: Record<string, number>;
  retries: number;
  deliveries: { acknowledged: number; refused: number; dropped: number };
  acknowledged: { events: number; entities: number };
  lost: Sample<{ eventId: string; reasons: string[] }>;
  checks: { database?: StoreCheckSummary; admin?: StoreCheckSummary; feed?: FeedCheckSummary };
}

export interface VerdictInput {
  url: string;
  seed: number;
  startedAt: Date;
  planned: readonly PlannedDelivery[];
  ledger: Ledger;
  checks: { database?: StoreCheckResult; admin?: StoreCheckResult; feed?: FeedCheckResult };
}

const sample = <T>(list: readonly T[]): Sample<T> => ({ count: list.length, sample: list.slice(0, SAMPLE) });

export function buildVerdict(input: VerdictInput): Verdict {
  const { ledger, planned } = input;
  const failures: string[] = [];
  const notes: string[] = [];
  const outcomes = { acknowledged: 0, refused: 0, dropped: 0 };
  for (const record of ledger.deliveries) if (record.outcome !== 'pending') outcomes[record.outcome] += 1;
  const answers = ledger.answerCounts();
  const lost = ledger.lostEvents();

  if (answers['400'])
    failures.push(`${answers['400']} well-formed signed deliveries answered 400 (Dotdigital drops those)`);
  if (lost.length > 0) {
    const why = [...new Set(lost.flatMap((event) => event.reasons))].join(', ');
    failures.push(`${lost.length} events lost: no delivery carrying them was acknowledged (${why})`);
  }
  const mismatched = ledger.deliveries.filter((record) => record.answerMismatch);
  if (mismatched.length > 0) {
    failures.push(
      `${mismatched.length} acknowledged deliveries answered other counts (${mismatched[0].answerMismatch})`,
    );
  }
  if (ledger.retries > 0) notes.push(`${ledger.retries} retries on Dotdigital's schedule`);

  for (const [name, result] of [
    ['database', input.checks.database],
    ['admin API', input.checks.admin],
  ] as const)
    if (result) judgeStore(name, result, failures, notes, lost.length > 0);
  if (input.checks.feed) judgeFeed(input.checks.feed, lost, failures, notes);

  return {
    balanced: failures.length === 0,
    failures,
    notes,
    run: {
      url: input.url,
      seed: input.seed,
      startedAt: input.startedAt.toISOString(),
      durationMs: Date.now() - input.startedAt.getTime(),
      events: ledger.allEvents().size,
      repeats: planned.reduce((sum, delivery) => sum + delivery.repeats, 0),
      deliveries: planned.length,
      batches: planned.filter((delivery) => delivery.batch).length,
      singles: planned.filter((delivery) => !delivery.batch).length,
      largestBatch: planned.reduce((max, d) => (d.batch ? Math.max(max, d.events.length) : max), 0),
    },
    answers,
    retries: ledger.retries,
    deliveries: outcomes,
    acknowledged: { events: ledger.acknowledgedEvents().size, entities: ledger.expectedEntities().size },
    lost: sample(lost),
    checks: {
      database: input.checks.database && summariseStore(input.checks.database),
      admin: input.checks.admin && summariseStore(input.checks.admin),
      feed: input.checks.feed && summariseFeed(input.checks.feed),
    },
  };
}

function judgeStore(name: string, r: StoreCheckResult, failures: string[], notes: string[], losses: boolean) {
  if (r.missing.length > 0) failures.push(`${name}: ${r.missing.length} acknowledged events not stored`);
  if (r.duplicated.length > 0) failures.push(`${name}: ${r.duplicated.length} events stored more than once`);
  if (r.payloadMismatch.length > 0) {
    failures.push(
      `${name}: ${r.payloadMismatch.length} events stored with a payload other than the one sent`,
    );
  }
  if (r.wrongEntity.length > 0)
    failures.push(`${name}: ${r.wrongEntity.length} events stored with an entity other than the rule's`);
  if (r.entityMismatch.length > 0)
    failures.push(`${name}: ${r.entityMismatch.length} entities not at their highest acknowledged revision`);
  const ahead = r.entityMismatch.filter((m) => isAhead(m.actual, m.expected));
  if (ahead.length > 0 && losses) {
    notes.push(
      `${name}: ${ahead.length} entities are ahead: an event whose acknowledgement was lost was stored`,
    );
  }
  if (r.error) failures.push(`${name}: check incomplete: ${r.error}`);
}

function judgeFeed(
  r: FeedCheckResult,
  lost: { eventId: string; reasons: string[] }[],
  failures: string[],
  notes: string[],
) {
  if (r.missing.length > 0) failures.push(`feed: ${r.missing.length} acknowledged events never arrived`);
  if (r.contentMismatch.length > 0)
    failures.push(`feed: ${r.contentMismatch.length} events arrived with content other than the one sent`);
  if (r.routingMismatch.length > 0) {
    failures.push(
      `feed: ${r.routingMismatch.length} events arrived under a routing key other than <outcome>.<name>`,
    );
  }
  // An event every delivery of which was answered 400/401 must never reach storage, let alone the feed.
  const refusedOnly = new Set(
    lost.filter((e) => e.reasons.every((reason) => reason.startsWith('refused'))).map((e) => e.eventId),
  );
  const published = r.unacknowledged.filter((eventId) => refusedOnly.has(eventId));
  if (published.length > 0)
    failures.push(`feed: ${published.length} events published although refused (400/401)`);
  if (r.unacknowledged.length > published.length) {
    notes.push(
      `feed: ${r.unacknowledged.length - published.length} unacknowledged events were stored anyway`,
    );
  }
  if (r.duplicates > 0)
    notes.push(`feed: ${r.duplicates} duplicate copies (allowed: the feed is at least once)`);
  if (r.foreign > 0) notes.push(`feed: ${r.foreign} messages of other events (not this run's) ignored`);
  if (r.error) failures.push(`feed: ${r.error}`);
}

function summariseStore(r: StoreCheckResult): StoreCheckSummary {
  return {
    events: r.events,
    storedOnce: r.storedOnce,
    entities: r.entities,
    entitiesMatching: r.entitiesMatching,
    missing: sample(r.missing),
    duplicated: sample(r.duplicated),
    payloadMismatch: sample(r.payloadMismatch),
    wrongEntity: sample(r.wrongEntity),
    entityMismatch: sample(r.entityMismatch),
    error: r.error,
    waitedMs: r.waitedMs,
  };
}

function summariseFeed(r: FeedCheckResult): FeedCheckSummary {
  return {
    ...r,
    missing: sample(r.missing),
    contentMismatch: sample(r.contentMismatch),
    routingMismatch: sample(r.routingMismatch),
    unacknowledged: sample(r.unacknowledged),
  };
}
