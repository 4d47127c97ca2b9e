import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import { HealthRegistry } from '../health/health.registry';
import { Metrics } from '../metrics/metrics.service';
import { AmqpConnection } from './amqp-connection';
import { brokerProbe } from './broker.probe';
import { deliveryProperties, type DeliveryMessage } from './delivery-message';
import { topologyFor, type Topology } from './topology';
import { traceDeliveryPublish } from '../tracing/tracing.spans';

/**
 * Takes a delivery into RabbitMQ as one persistent, mandatory message and resolves only on that
 * message's own publisher confirm; anything else rejects with BrokerUnavailableError (answered 503).
 * Its connection is what an instance that receives webhooks needs to be ready.
 */
@Injectable()
export class DeliveryPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection: AmqpConnection;
  private readonly topology: Topology;

  constructor(
    private readonly config: BrokerConfig,
    private readonly metrics: Metrics,
    health: HealthRegistry,
  ) {
    this.topology = topologyFor(config.prefix);
    this.connection = new AmqpConnection({
      urls: config.urls,
      name: `${config.prefix}-publisher`,
      topology: this.topology,
    });
    health.register(brokerProbe('publisher', this.connection, 'receiving'));
  }

  onApplicationBootstrap(): void {
    this.connection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }

  async publish(message: DeliveryMessage): Promise<void> {
    const stopTimer = this.metrics.publishConfirmSeconds.startTimer();
    try {
      const { exchange, routingKey } = this.topology;
      const properties = deliveryProperties(message);
      await traceDeliveryPublish({ exchange, routingKey }, message, properties, () =>
        this.connection.publish(exchange, routingKey, message.body, properties, {
          timeoutMs: this.config.publishTimeoutMs,
        }),
      );
    } finally {
      stopTimer();
    }
  }
}
