import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { Metrics } from '../metrics/metrics.service';

/** The feed's metrics: what it owes, what it published, how often relaying failed, who relays. */
@Injectable()
export class FeedMetrics {
  readonly outboxEvents: Gauge;
  readonly outboxOldestSeconds: Gauge;
  readonly published: Counter<'outcome'>;
  readonly failures: Counter;
  readonly active: Gauge;

  constructor({ registry }: Metrics) {
    const registers = [registry];
    this.outboxEvents = new Gauge({
      name: 'webhook_feed_outbox_events',
      help: 'Stored events not yet published to the feed (sampled; every replica reports the same table).',
      registers,
    });
    this.outboxOldestSeconds = new Gauge({
      name: 'webhook_feed_outbox_oldest_seconds',
      help: 'Age of the oldest unpublished outbox entry, 0 when the outbox is empty.',
      registers,
    });
    this.published = new Counter({
      name: 'webhook_feed_published_total',
      help: 'Events published to the feed and confirmed by the broker, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'webhook_feed_relay_failures_total',
      help: 'Relay rounds that failed (broker or database trouble); their events are published again later.',
      registers,
    });
    this.active = new Gauge({
      name: 'webhook_feed_relay_active',
      help: '1 on the replica that holds the relay lease and publishes now.',
      registers,
    });
    for (const outcome of ['applied', 'stale', 'untracked']) this.published.inc({ outcome }, 0);
  }
}
