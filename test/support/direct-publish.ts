import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { DeliveryHeaders } from '../../src/messaging/delivery-message';
import { topologyFor } from '../../src/messaging/topology';
import { AMQP_URL } from './env';

export interface DirectDelivery {
  body: Buffer;
  /** Defaults to a fresh UUID, as the api gives each HTTP delivery. */
  deliveryId?: string;
  receivedAt?: Date;
  itemCount?: number;
}

/**
 * Publishes deliveries straight to the service's exchange, with the same properties and headers the
 * api's DeliveryPublisher sets, for tests that must bypass HTTP (a redelivery with the same delivery
 * id, a large backlog). Waits for the broker's confirms.
 */
export class DirectPublisher {
  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly prefix: string,
  ) {}

  static async connect(prefix: string, url = AMQP_URL): Promise<DirectPublisher> {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    return new DirectPublisher(model, channel, prefix);
  }

  /** Publishes each delivery; returns their delivery ids once every one is confirmed. */
  async publish(deliveries: DirectDelivery[]): Promise<string[]> {
    const topology = topologyFor(this.prefix);
    const ids = deliveries.map((delivery) => {
      const deliveryId = delivery.deliveryId ?? randomUUID();
      const receivedAt = delivery.receivedAt ?? new Date();
      this.channel.publish(topology.exchange, topology.routingKey, delivery.body, {
        persistent: true,
        mandatory: true,
        messageId: deliveryId,
        timestamp: Math.floor(receivedAt.getTime() / 1000),
        contentType: 'application/json',
        headers: {
          [DeliveryHeaders.deliveryId]: deliveryId,
          [DeliveryHeaders.receivedAt]: receivedAt.toISOString(),
          [DeliveryHeaders.itemCount]: delivery.itemCount ?? 1,
        },
      });
      return deliveryId;
    });
    await this.channel.waitForConfirms();
    return ids;
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}
