import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { BrokerConfig } from '../config/config.slices';
import { AmqpConnection } from '../messaging/amqp-connection';
import { topologyFor } from '../messaging/topology';
import { Metrics } from '../metrics/metrics.service';

/** A look at the broker that takes longer than this leaves the gauge empty for that scrape. */
const LOOK_TIMEOUT_MS = 2000;

/**
 * `webhook_queue_messages{queue}`: deliveries waiting in `<prefix>.deliveries` and in the dead-letter
 * queue, read from the broker at each scrape (one passive declare per queue, on a connection of its
 * own so a look never touches the consumer's channel). While the broker cannot be asked, the gauge
 * has no value (an alert on its absence tells "no worker reports" from "an empty queue").
 */
@Injectable()
export class QueueMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection: AmqpConnection;

  constructor(config: BrokerConfig, { registry }: Metrics) {
    const topology = topologyFor(config.prefix);
    const connection = new AmqpConnection({
      urls: config.urls,
      name: `${config.prefix}-queue-metrics`,
      topology,
    });
    this.connection = connection;
    const queues = { deliveries: topology.queue, dead_letter: topology.deadLetterQueue };
    new Gauge({
      name: 'webhook_queue_messages',
      help: 'Messages ready in the deliveries and dead-letter queues (queue="deliveries"|"dead_letter"), read at each scrape.',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset();
        const channel = connection.channel;
        if (!channel) return;
        try {
          const looks = Object.entries(queues).map(async ([label, name]) => {
            const { messageCount } = await channel.checkQueue(name);
            return [label, messageCount] as const;
          });
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer')), LOOK_TIMEOUT_MS);
          });
          const counts = await Promise.race([Promise.all(looks), timeout]).finally(() => clearTimeout(timer));
          for (const [queue, count] of counts) this.set({ queue }, count);
        } catch {
          // Leaves the gauge empty: the scrape itself must not fail because the broker is away.
        }
      },
    });
  }

  onApplicationBootstrap(): void {
    this.connection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
