import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { BrokerConfig } from '../config/config.slices';
import { QueueDepth } from '../messaging/queue-depth';
import { topologyFor } from '../messaging/topology';
import { Metrics } from '../metrics/metrics.service';

/**
 * `webhook_queue_messages{queue}`: deliveries waiting in `<prefix>.deliveries` and in the dead-letter
 * queue, read from the broker at each scrape (QueueDepth: one passive declare per queue, on a
 * connection of its own so a look never touches the consumer's channel). While the broker cannot be
 * asked, the gauge has no value (an alert on its absence tells "no worker reports" from "an empty queue").
 */
@Injectable()
export class QueueMetrics {
  constructor(config: BrokerConfig, { registry }: Metrics, depth: QueueDepth) {
    const topology = topologyFor(config.prefix);
    const queues = { deliveries: topology.queue, dead_letter: topology.deadLetterQueue };
    new Gauge({
      name: 'webhook_queue_messages',
      help: 'Messages ready in the deliveries and dead-letter queues (queue="deliveries"|"dead_letter"), read at each scrape.',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          const looks = Object.entries(queues).map(async ([label, name]) => {
            const { messages } = await depth.check(name);
            return [label, messages] as const;
          });
          for (const [queue, count] of await Promise.all(looks)) this.set({ queue }, count);
        } catch {
          // Leaves the gauge empty: the scrape itself must not fail because the broker is away.
        }
      },
    });
  }
}
