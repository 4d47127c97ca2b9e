import { Injectable } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import { Metrics } from '../metrics/metrics.service';
import type { AmqpConnection } from './amqp-connection';
import { InjectConnection } from './broker-connections';
import { deliveryProperties, type DeliveryMessage } from './delivery-message';
import { topologyFor, type Topology } from './topology';
import { traceDeliveryPublish } from '../tracing/tracing.spans';

/**
 * Takes a delivery into RabbitMQ as one persistent, mandatory message and resolves only on that
 * message's own publisher confirm; anything else rejects with BrokerUnavailableError (answered 503).
 * Its connection is what an instance that receives webhooks needs to be ready.
 */
@Injectable()
export class DeliveryPublisher {
  private readonly topology: Topology;

  constructor(
    private readonly config: BrokerConfig,
    private readonly metrics: Metrics,
    @InjectConnection('intake') private readonly connection: AmqpConnection,
  ) {
    this.topology = topologyFor(config.prefix);
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
