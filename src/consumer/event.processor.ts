import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerConfig } from '../config/config.slices';
import { parseDelivery } from '../envelope/delivery.parser';
import { EventStore, type BatchOutcome, type DeliveryToStore } from '../events/event.store';
import { isTransientDatabaseError } from '../events/transient-error';
import type { DeliveryMessage } from '../messaging/delivery-message';
import { FeedSignal } from '../events/feed.signal';
import { noteStored, traceStoreBatch } from '../tracing/tracing.spans';
import { StorageMetrics } from './storage.metrics';
import { backoffDelay, type Backoff } from '../common/backoff';

export type DeliveryVerdict = { stored: true } | { stored: false; reason: string };

type Attempt = { ok: true } | { ok: false; reason: string };

/** While the database is away: 200 ms doubling to 5 s, as long as it lasts. */
const TRANSIENT_BACKOFF: Backoff = { baseMs: 100, maxMs: 5000, jitter: 0 };

/**
 * Stores a batch of deliveries by the failure rules of docs/architecture.md ("Failures"); no AMQP here.
 * - A transient database failure (down, restarting, overloaded) is retried with back-off for as long
 *   as it lasts: the caller holds the batch unacknowledged meanwhile, which pauses consumption.
 * - Any other failure splits the batch: each delivery alone, then a delivery that still fails event
 *   by event, so what the database refuses is quarantined with its reason and its neighbours are
 *   stored. Only a delivery that cannot be stored even so (CONSUMER_MAX_ATTEMPTS tries) is reported
 *   not stored, for the caller to dead-letter.
 */
@Injectable()
export class EventProcessor {
  private readonly logger = new Logger('EventProcessor');

  constructor(
    private readonly store: EventStore,
    private readonly metrics: StorageMetrics,
    private readonly config: ConsumerConfig,
    private readonly feed: FeedSignal,
  ) {}

  /** Verdicts in the order of `messages`. Rejects only when `signal` aborts (shutdown during an outage). */
  process(messages: readonly DeliveryMessage[], signal: AbortSignal): Promise<DeliveryVerdict[]> {
    return traceStoreBatch(messages, () => this.processBatch(messages, signal));
  }

  private async processBatch(
    messages: readonly DeliveryMessage[],
    signal: AbortSignal,
  ): Promise<DeliveryVerdict[]> {
    const stopTimer = this.metrics.batchTimer();
    const batch: DeliveryToStore[] = messages.map((message) => ({
      ...message,
      parsed: parseDelivery(message.body),
    }));
    try {
      const whole = await this.attempt(() => this.store.storeBatch(batch), batch, signal, 1);
      if (whole.ok) return batch.map(() => ({ stored: true }));
      this.logger.warn(
        `batch of ${batch.length} failed (${whole.reason}); storing its deliveries one by one`,
      );
      const verdicts: DeliveryVerdict[] = [];
      for (const delivery of batch) verdicts.push(await this.storeAlone(delivery, batch.length > 1, signal));
      return verdicts;
    } finally {
      stopTimer();
    }
  }

  private async storeAlone(
    delivery: DeliveryToStore,
    tryWhole: boolean,
    signal: AbortSignal,
  ): Promise<DeliveryVerdict> {
    if (tryWhole) {
      const alone = await this.attempt(() => this.store.storeBatch([delivery]), [delivery], signal, 1);
      if (alone.ok) return { stored: true };
    }
    const split = await this.attempt(
      () => this.store.storeEventByEvent(delivery),
      [delivery],
      signal,
      this.config.maxAttempts,
    );
    return split.ok ? { stored: true } : { stored: false, reason: split.reason };
  }

  /**
   * Runs `store` until it succeeds or fails `maxAttempts` times for a lasting reason; transient
   * failures never count against `maxAttempts`.
   */
  private async attempt(
    store: () => Promise<BatchOutcome>,
    batch: readonly DeliveryToStore[],
    signal: AbortSignal,
    maxAttempts: number,
  ): Promise<Attempt> {
    let lastingFailures = 0;
    for (let transientFailures = 0; ;) {
      signal.throwIfAborted();
      try {
        const outcome = await store();
        this.metrics.record(outcome, batch);
        this.log(outcome, batch);
        noteStored(outcome, batch);
        if (outcome.stored.length > 0) this.feed.notify();
        return { ok: true };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (isTransientDatabaseError(err)) {
          transientFailures++;
          const delay = backoffDelay(transientFailures, TRANSIENT_BACKOFF);
          this.logger.warn(
            `database unavailable (${message}); holding ${batch.length} deliveries, retry in ${delay} ms`,
          );
          await sleep(delay, undefined, { signal });
          continue;
        }
        lastingFailures++;
        if (lastingFailures >= maxAttempts) return { ok: false, reason: message };
        await sleep(200 * lastingFailures, undefined, { signal });
      }
    }
  }

  private log(outcome: BatchOutcome, batch: readonly DeliveryToStore[]): void {
    if (outcome.conflicts.length > 0) {
      this.logger.warn({
        msg: 'eventId repeated with different content; the first stored stays',
        eventIds: outcome.conflicts,
      });
    }
    this.logger.log({
      msg: 'stored batch',
      deliveryIds: batch.map((d) => d.deliveryId),
      applied: outcome.applied,
      stale: outcome.stale,
      untracked: outcome.untracked,
      duplicate: outcome.duplicate,
      quarantined: outcome.quarantined.length,
    });
  }
}
