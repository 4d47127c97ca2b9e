import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Message } from 'amqplib';
import { InjectConfig } from '../config/config.module';
import type { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics.service';
import { AmqpConnection } from './amqp-connection';
import { BrokerUnavailableError } from './broker-unavailable.error';
import { DeliveryHeaders, topologyFor, type Topology } from './topology';

export interface OutgoingDelivery {
  deliveryId: string;
  receivedAt: Date;
  itemCount: number;
  body: Buffer;
}

/**
 * Takes a delivery into RabbitMQ as one persistent, mandatory message and resolves only on that
 * message's own publisher confirm. Anything else (no channel, nack, returned as unroutable, channel
 * closed, no confirm in time) rejects with BrokerUnavailableError.
 */
@Injectable()
export class DeliveryPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly connection: AmqpConnection;
  private readonly topology: Topology;
  private readonly returned = new Set<string>();

  constructor(
    @InjectConfig() private readonly config: Env,
    private readonly metrics: Metrics,
  ) {
    this.topology = topologyFor(config.AMQP_PREFIX);
    this.connection = new AmqpConnection({
      url: config.AMQP_URL,
      name: `${config.AMQP_PREFIX}-publisher`,
      topology: this.topology,
      onChannel: async (channel) => {
        channel.on('return', (message: Message) => {
          const id = message.properties.messageId as string | undefined;
          if (id) this.returned.add(id);
          // This delivery gets 503 (Dotdigital retries it); the next ones find the queue again.
          this.connection.redeclareTopology();
        });
        return Promise.resolve();
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.connection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }

  async publish(delivery: OutgoingDelivery): Promise<void> {
    const channel = this.connection.channel;
    if (!channel) throw new BrokerUnavailableError('not connected to the message broker');
    const blocked = this.connection.blockedReason;
    if (blocked) throw new BrokerUnavailableError(`the message broker is refusing publishes (${blocked})`);
    const stopTimer = this.metrics.publishConfirmSeconds.startTimer();
    const { deliveryId } = delivery;

    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new BrokerUnavailableError(`no broker confirm within ${this.config.PUBLISH_TIMEOUT_MS} ms`),
            ),
          this.config.PUBLISH_TIMEOUT_MS,
        );
        const settle = (err: unknown) => {
          clearTimeout(timer);
          if (err)
            reject(new BrokerUnavailableError(`broker did not confirm the delivery: ${describe(err)}`));
          else if (this.returned.delete(deliveryId))
            reject(new BrokerUnavailableError('broker returned the delivery as unroutable'));
          else resolve();
        };
        try {
          channel.publish(
            this.topology.exchange,
            this.topology.routingKey,
            delivery.body,
            {
              persistent: true,
              mandatory: true,
              messageId: deliveryId,
              timestamp: Math.floor(delivery.receivedAt.getTime() / 1000),
              contentType: 'application/json',
              headers: {
                [DeliveryHeaders.deliveryId]: deliveryId,
                [DeliveryHeaders.receivedAt]: delivery.receivedAt.toISOString(),
                [DeliveryHeaders.itemCount]: delivery.itemCount,
              },
            },
            settle,
          );
        } catch (err) {
          settle(err ?? new Error('publish failed'));
        }
      });
    } finally {
      this.returned.delete(deliveryId);
      stopTimer();
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : 'negative acknowledgement';
}
