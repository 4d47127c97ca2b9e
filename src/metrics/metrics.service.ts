import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type DeliveryResult =
  | 'accepted'
  | 'bad_signature'
  | 'malformed'
  | 'too_large'
  | 'broker_unavailable'
  | 'space_mismatch'
  | 'overloaded';

const DELIVERY_RESULTS: DeliveryResult[] = [
  'accepted',
  'bad_signature',
  'malformed',
  'too_large',
  'broker_unavailable',
  'space_mismatch',
  'overloaded',
];

/**
 * The service's Prometheus registry (one per app: several apps can live in one process, as in the
 * tests) with the intake's metrics; each feature registers its own on `registry`. Names follow
 * Prometheus conventions: base units, `_total` counters.
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

  readonly publishConfirmSeconds = new Histogram({
    name: 'webhook_publish_confirm_seconds',
    help: 'Time from publishing a delivery to its broker confirm (or failure).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const result of DELIVERY_RESULTS) this.deliveries.inc({ result }, 0);
  }

  countDelivery(result: DeliveryResult): void {
    this.deliveries.inc({ result });
  }
}
