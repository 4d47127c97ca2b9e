import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerConfig } from '../config/config.slices';
import { parseDelivery } from '../envelope/delivery.parser';
import { EventStore, type BatchOutcome, type DeliveryToStore } from '../events/event.store';
import { isTransientDatabaseError } from '../events/transient-error';
import type { DeliveryMessage } from '../messaging/delivery-message';
import { Metrics } from '../metrics/metrics.service';

export type DeliveryVerdict = { stored: true } | { stored: false; reason: string };

const TRANSIENT_MAX_DELAY_MS = 5000;

/**
 * Stores a batch of deliveries with the retry rules of docs/architecture.md, "Failures" (no AMQP here):
 * - a transient database failure (down, restarting, overloaded) is retried with back-off for as long
 *   as it lasts: the caller holds the batch unacknowledged meanwhile, which pauses consumption;
 * - any other failure isolates the delivery at fault, retries it CONSUMER_MAX_ATTEMPTS times, and then
 *   reports it as not stored with its reason (the caller dead-letters it); the rest of the batch is stored.
 */
@Injectable()
export class EventProcessor {
  private readonly logger = new Logger('EventProcessor');

  constructor(
    private readonly store: EventStore,
    private readonly metrics: Metrics,
    private readonly config: ConsumerConfig,
  ) {}

  /** Verdicts in the order of `messages`. Rejects only when `signal` aborts (shutdown during an outage). */
  async process(messages: readonly DeliveryMessage[], signal: AbortSignal): Promise<DeliveryVerdict[]> {
    const stopTimer = this.metrics.consumerBatchSeconds.startTimer();
    const batch: DeliveryToStore[] = messages.map((message) => ({
      ...message,
      parsed: parseDelivery(message.body),
    }));
    try {
      const whole = await this.attempt(batch, signal, batch.length === 1 ? this.config.maxAttempts : 1);
      if (whole.ok) return batch.map(() => ({ stored: true }));
      if (batch.length === 1) return [{ stored: false, reason: whole.reason }];
      this.logger.warn(
        `batch of ${batch.length} failed (${whole.reason}); storing its deliveries one by one`,
      );
      const verdicts: DeliveryVerdict[] = [];
      for (const delivery of batch) {
        const single = await this.attempt([delivery], signal, this.config.maxAttempts);
        verdicts.push(single.ok ? { stored: true } : { stored: false, reason: single.reason });
      }
      return verdicts;
    } finally {
      stopTimer();
    }
  }

  /**
   * Tries to store `batch` in one transaction until it succeeds or fails `maxAttempts` times for a
   * lasting reason; transient failures never count against `maxAttempts`.
   */
  private async attempt(
    batch: readonly DeliveryToStore[],
    signal: AbortSignal,
    maxAttempts: number,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    let lastingFailures = 0;
    for (let transientFailures = 0; ;) {
      signal.throwIfAborted();
      try {
        this.record(await this.store.storeBatch(batch), batch);
        return { ok: true };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (isTransientDatabaseError(err)) {
          transientFailures++;
          const delay = Math.min(TRANSIENT_MAX_DELAY_MS, 100 * 2 ** Math.min(transientFailures, 6));
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

  private record(outcome: BatchOutcome, batch: readonly DeliveryToStore[]): void {
    const { events, repeatedEvents, storageLagSeconds } = this.metrics;
    events.inc({ outcome: 'applied' }, outcome.applied);
    events.inc({ outcome: 'stale' }, outcome.stale);
    events.inc({ outcome: 'untracked' }, outcome.untracked);
    events.inc({ outcome: 'duplicate' }, outcome.duplicate);
    events.inc({ outcome: 'quarantined' }, outcome.quarantined);
    repeatedEvents.inc(outcome.duplicate);
    const now = Date.now();
    for (const time of outcome.storedEventTimes)
      storageLagSeconds.observe(Math.max(0, (now - time.getTime()) / 1000));
    const { storedEventTimes: _times, ...counts } = outcome;
    this.logger.log({ msg: 'stored batch', deliveryIds: batch.map((d) => d.deliveryId), ...counts });
  }
}
