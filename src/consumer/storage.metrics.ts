import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import type { BatchOutcome, DeliveryToStore } from '../events/event.store';
import { Metrics } from '../metrics/metrics.service';

export type EventOutcomeLabel = 'applied' | 'stale' | 'untracked' | 'duplicate' | 'quarantined';

/** What the consumer did with the events it took, as metrics. */
@Injectable()
export class StorageMetrics {
  readonly events: Counter<'outcome'>;
  readonly deadLettered: Counter<'reason'>;
  /** Seconds the consumer waited for the intake of its own process before a batch (role all). */
  readonly yielded: Counter;
  private readonly quarantined: Counter<'kind'>;
  private readonly conflicts: Counter;
  private readonly repeated: Counter;
  private readonly batchSeconds: Histogram;
  private readonly storageLag: Histogram;
  private readonly senderLag: Histogram;

  constructor({ registry }: Metrics) {
    const registers = [registry];
    this.events = new Counter({
      name: 'webhook_events_total',
      help: 'Events taken by the consumer, by outcome; quarantined counts envelopes and batch items kept instead of stored.',
      labelNames: ['outcome'],
      registers,
    });
    this.quarantined = new Counter({
      name: 'webhook_quarantined_total',
      help: 'Rows written to quarantined_deliveries: whole deliveries and single items.',
      labelNames: ['kind'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'webhook_dead_lettered_deliveries_total',
      help: 'Deliveries moved to the dead-letter queue because even their quarantine could not be written.',
      labelNames: ['reason'],
      registers,
    });
    this.conflicts = new Counter({
      name: 'webhook_event_conflicts_total',
      help: 'Repeated eventIds whose content differs from the stored event (the first stays).',
      registers,
    });
    this.repeated = new Counter({
      name: 'webhook_repeated_event_ids_total',
      help: 'Events whose eventId was already stored (Dotdigital retrying, or a redelivery).',
      registers,
    });
    this.yielded = new Counter({
      name: 'webhook_consumer_yield_seconds_total',
      help: 'Time the consumer waited before a batch for the webhook requests of its own process (role all, CONSUMER_YIELD_MS).',
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'webhook_consumer_batch_seconds',
      help: 'Time to store one consumer batch (one PostgreSQL transaction), retries included.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.storageLag = new Histogram({
      name: 'webhook_event_storage_lag_seconds',
      help: 'Time from the api receiving a delivery to its events being stored: this service’s own lag.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.senderLag = new Histogram({
      name: 'webhook_event_sender_lag_seconds',
      help: "Time from an event's own timestamp to the api receiving it: Dotdigital's lag, retries included.",
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
      registers,
    });
    for (const outcome of ['applied', 'stale', 'untracked', 'duplicate', 'quarantined'])
      this.events.inc({ outcome }, 0);
    for (const kind of ['delivery', 'item']) this.quarantined.inc({ kind }, 0);
    // Present from the start, so an alert on its increase has a series to watch.
    this.deadLettered.inc({ reason: 'storage_failed' }, 0);
  }

  batchTimer(): () => void {
    return this.batchSeconds.startTimer();
  }

  record(outcome: BatchOutcome, batch: readonly DeliveryToStore[]): void {
    const envelopes = outcome.quarantined.filter(
      (row) => row.itemIndex !== null || parsedFine(batch, row.deliveryId),
    );
    this.events.inc({ outcome: 'applied' }, outcome.applied);
    this.events.inc({ outcome: 'stale' }, outcome.stale);
    this.events.inc({ outcome: 'untracked' }, outcome.untracked);
    this.events.inc({ outcome: 'duplicate' }, outcome.duplicate);
    this.events.inc({ outcome: 'quarantined' }, envelopes.length);
    this.quarantined.inc(
      { kind: 'item' },
      outcome.quarantined.filter((row) => row.itemIndex !== null).length,
    );
    this.quarantined.inc(
      { kind: 'delivery' },
      outcome.quarantined.filter((row) => row.itemIndex === null).length,
    );
    this.repeated.inc(outcome.duplicate);
    this.conflicts.inc(outcome.conflicts.length);
    const now = Date.now();
    for (const row of outcome.stored) {
      this.storageLag.observe(Math.max(0, (now - row.receivedAt.getTime()) / 1000));
      if (row.eventTime)
        this.senderLag.observe(Math.max(0, (row.receivedAt.getTime() - row.eventTime.getTime()) / 1000));
    }
  }
}

/** Whether a delivery was an envelope or a batch (so a quarantine row of it is an event's, not unreadable bytes). */
function parsedFine(batch: readonly DeliveryToStore[], deliveryId: string): boolean {
  const delivery = batch.find((d) => d.deliveryId === deliveryId);
  return delivery !== undefined && delivery.parsed.problem === null;
}
