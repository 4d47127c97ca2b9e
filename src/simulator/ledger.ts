import { writeFile } from 'node:fs/promises';
import type { PlannedDelivery } from './delivery.planner';
import { entityKeyText, trackedEntityOf, type EntityKey, type SimEnvelope } from './envelope.types';
import { attemptLabel, type AttemptResult } from './retry.schedule';

export type DeliveryOutcome = 'pending' | 'acknowledged' | 'refused' | 'dropped';

export interface DeliveryRecord {
  index: number;
  apiSpaceId: string;
  batch: boolean;
  eventIds: string[];
  /** One label per attempt: the status code, `timeout` or `connection error`. */
  attempts: string[];
  outcome: DeliveryOutcome;
  /** `X-Delivery-Id` of every answer that carried one: where to look in the service's logs. */
  deliveryIds: string[];
  /** Set when a 2xx answer's counts disagree with what was sent. */
  answerMismatch?: string;
}

export interface ExpectedEntity {
  key: EntityKey;
  revision: number;
}

/**
 * What the sender knows for sure: which deliveries were acknowledged (2xx), refused (400/401) or
 * dropped after the whole retry schedule, and so which events the service owes. Only acknowledged
 * events count as owed; an event is acknowledged once any delivery carrying it was.
 */
export class Ledger {
  readonly deliveries: DeliveryRecord[];
  private readonly envelopes = new Map<string, SimEnvelope>();
  private readonly acknowledged = new Set<string>();
  private readonly answers = new Map<string, number>();
  private retryCount = 0;

  constructor(planned: readonly PlannedDelivery[]) {
    this.deliveries = planned.map((delivery) => ({
      index: delivery.index,
      apiSpaceId: delivery.apiSpaceId,
      batch: delivery.batch,
      eventIds: delivery.events.map((event) => event.eventId),
      attempts: [],
      outcome: 'pending',
      deliveryIds: [],
    }));
    for (const delivery of planned)
      for (const event of delivery.events) this.envelopes.set(event.eventId, event);
  }

  recordAttempt(index: number, result: AttemptResult): void {
    const record = this.deliveries[index];
    const label = attemptLabel(result);
    record.attempts.push(label);
    this.answers.set(label, (this.answers.get(label) ?? 0) + 1);
    if (result.kind === 'answer' && result.deliveryId) record.deliveryIds.push(result.deliveryId);
  }

  recordRetry(): void {
    this.retryCount += 1;
  }

  acknowledge(index: number, result: AttemptResult): void {
    const record = this.deliveries[index];
    record.outcome = 'acknowledged';
    for (const eventId of record.eventIds) this.acknowledged.add(eventId);
    if (result.kind === 'answer') record.answerMismatch = answerMismatch(result.body, record.eventIds.length);
  }

  settle(index: number, outcome: 'refused' | 'dropped'): void {
    this.deliveries[index].outcome = outcome;
  }

  get retries(): number {
    return this.retryCount;
  }

  answerCounts(): Record<string, number> {
    return Object.fromEntries([...this.answers.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Every distinct event planned, acknowledged or not. */
  allEvents(): ReadonlyMap<string, SimEnvelope> {
    return this.envelopes;
  }

  acknowledgedEvents(): Map<string, SimEnvelope> {
    return new Map([...this.acknowledged].map((eventId) => [eventId, this.envelopes.get(eventId)!]));
  }

  isAcknowledged(eventId: string): boolean {
    return this.acknowledged.has(eventId);
  }

  /** Per entity, the highest revision among acknowledged events: the state the service must show. */
  expectedEntities(): Map<string, ExpectedEntity> {
    const entities = new Map<string, ExpectedEntity>();
    for (const envelope of this.acknowledgedEvents().values()) {
      const tracked = trackedEntityOf(envelope);
      if (!tracked) continue;
      const text = entityKeyText(tracked.key);
      const current = entities.get(text);
      if (!current || tracked.revision > current.revision) entities.set(text, tracked);
    }
    return entities;
  }

  /** Events no delivery got acknowledged, with why each of their deliveries failed. */
  lostEvents(): { eventId: string; reasons: string[] }[] {
    const reasons = new Map<string, string[]>();
    for (const record of this.deliveries) {
      if (record.outcome === 'acknowledged') continue;
      const reason = `${record.outcome} (${record.attempts[record.attempts.length - 1] ?? 'never sent'})`;
      for (const eventId of record.eventIds)
        if (!this.acknowledged.has(eventId)) reasons.set(eventId, [...(reasons.get(eventId) ?? []), reason]);
    }
    return [...reasons.entries()].map(([eventId, why]) => ({ eventId, reasons: why }));
  }

  toJSON() {
    return {
      answers: this.answerCounts(),
      retries: this.retryCount,
      deliveries: this.deliveries,
      events: [...this.envelopes.values()].map((envelope) => ({
        eventId: envelope.eventId,
        acknowledged: this.acknowledged.has(envelope.eventId),
        envelope,
      })),
      entities: [...this.expectedEntities().values()].map(({ key, revision }) => ({ ...key, revision })),
    };
  }

  async writeTo(file: string): Promise<void> {
    await writeFile(file, `${JSON.stringify(this, null, 2)}\n`);
  }
}

/** The service answers `{"accepted": n, "quarantined": m}` (docs/architecture.md, HTTP); other bodies are not judged. */
function answerMismatch(body: string, sent: number): string | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { accepted, quarantined } = answer as Record<string, unknown>;
  if (typeof accepted !== 'number') return undefined;
  if (accepted === sent && (quarantined ?? 0) === 0) return undefined;
  return `sent ${sent}, answered accepted ${accepted}, quarantined ${String(quarantined)}`;
}
