import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type DeliveryResult = 'accepted' | 'bad_signature' | 'malformed' | 'too_large' | 'broker_unavailable';
export type EventOutcomeLabel = 'applied' | 'stale' | 'untracked' | 'duplicate' | 'quarantined';

/**
 * Every Prometheus metric of the service, on a registry of its own (several apps can live in one
 * process, as in the tests). Names follow Prometheus conventions: base units, `_total` counters.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly deliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'HTTP deliveries to POST /webhook by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'webhook_events_total',
    help: 'Events processed by the consumer, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly publishConfirmSeconds = new Histogram({
    name: 'webhook_publish_confirm_seconds',
    help: 'Time from publishing a delivery to its broker confirm (or failure).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly consumerBatchSeconds = new Histogram({
    name: 'webhook_consumer_batch_seconds',
    help: 'Time to store one consumer batch (one PostgreSQL transaction), retries included.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly storageLagSeconds = new Histogram({
    name: 'webhook_event_storage_lag_seconds',
    help: "Time between an event's own timestamp and its storage in PostgreSQL.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
    registers: [this.registry],
  });

  readonly repeatedEvents = new Counter({
    name: 'webhook_repeated_event_ids_total',
    help: 'Events whose eventId was already stored (Dotdigital retrying, or a redelivery).',
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'webhook_dead_lettered_deliveries_total',
    help: 'Deliveries moved to the dead-letter queue after bounded retries, by reason class.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const result of ['accepted', 'bad_signature', 'malformed', 'too_large', 'broker_unavailable'])
      this.deliveries.inc({ result }, 0);
    for (const outcome of ['applied', 'stale', 'untracked', 'duplicate', 'quarantined'])
      this.events.inc({ outcome }, 0);
    // Present from the start, so an alert on `> 0` (or on its increase) has a series to watch.
    this.deadLettered.inc({ reason: 'storage_failed' }, 0);
  }

  countDelivery(result: DeliveryResult): void {
    this.deliveries.inc({ result });
  }
}
