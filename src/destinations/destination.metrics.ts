import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Metrics } from '../metrics/metrics.service';

/** How each HTTP destination's deliveries go: what an operator alerting on a destination needs. */
@Injectable()
export class DestinationMetrics {
  readonly delivered: Counter<'destination'>;
  readonly attempts: Counter<'destination' | 'result'>;
  readonly failed: Counter<'destination'>;
  readonly pending: Gauge<'destination'>;
  readonly failedEvents: Gauge<'destination'>;
  readonly oldestPendingSeconds: Gauge<'destination'>;
  readonly state: Gauge<'destination' | 'state'>;
  readonly circuitOpen: Gauge<'destination'>;
  readonly requestSeconds: Histogram<'destination'>;
  readonly reloads: Counter<'result'>;
  readonly active: Gauge;

  constructor({ registry }: Metrics) {
    const registers = [registry];
    this.delivered = new Counter({
      name: 'webhook_destination_delivered_total',
      help: 'Events a destination answered 2xx to.',
      labelNames: ['destination'],
      registers,
    });
    this.attempts = new Counter({
      name: 'webhook_destination_attempts_total',
      help: 'Requests to a destination by result: delivered, gone (410), throttled (429/503), http_error, timeout, network_error.',
      labelNames: ['destination', 'result'],
      registers,
    });
    this.failed = new Counter({
      name: 'webhook_destination_failed_total',
      help: 'Events given up after maxAgeHours (kept as failed, retryable).',
      labelNames: ['destination'],
      registers,
    });
    this.pending = new Gauge({
      name: 'webhook_destination_pending_events',
      help: 'Events a destination is owed (sampled; every replica reports the same table).',
      labelNames: ['destination'],
      registers,
    });
    this.failedEvents = new Gauge({
      name: 'webhook_destination_failed_events',
      help: 'Events given up for a destination and kept (sampled).',
      labelNames: ['destination'],
      registers,
    });
    this.oldestPendingSeconds = new Gauge({
      name: 'webhook_destination_oldest_pending_seconds',
      help: 'Age of the oldest event a destination is owed, 0 when none.',
      labelNames: ['destination'],
      registers,
    });
    this.state = new Gauge({
      name: 'webhook_destination_state',
      help: '1 for the state a destination is in (active, paused, disabled), 0 for the others.',
      labelNames: ['destination', 'state'],
      registers,
    });
    this.circuitOpen = new Gauge({
      name: 'webhook_destination_circuit_open',
      help: '1 while a destination failed 5 times in a row and is only probed, one request at a time.',
      labelNames: ['destination'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'webhook_destination_request_duration_seconds',
      help: 'Time from sending a request to a destination to its answer (or failure).',
      labelNames: ['destination'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.reloads = new Counter({
      name: 'webhook_destinations_reloads_total',
      help: 'Reloads of DESTINATIONS_FILE (SIGHUP or a change of the file), by result.',
      labelNames: ['result'],
      registers,
    });
    this.active = new Gauge({
      name: 'webhook_destinations_deliverer_active',
      help: '1 on the replica that holds the destinations lease and sends now.',
      registers,
    });
    for (const result of ['success', 'failure']) this.reloads.inc({ result }, 0);
  }

  /** Every series of a destination exists from the start, so rate() and absent() behave. */
  declare(destination: string): void {
    this.delivered.inc({ destination }, 0);
    this.failed.inc({ destination }, 0);
    for (const result of ATTEMPT_RESULTS) this.attempts.inc({ destination, result }, 0);
  }
}

export const ATTEMPT_RESULTS = [
  'delivered',
  'gone',
  'throttled',
  'http_error',
  'timeout',
  'network_error',
] as const;
export type AttemptLabel = (typeof ATTEMPT_RESULTS)[number];
