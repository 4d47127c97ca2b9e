import { Injectable, Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { DeliveryHeaders } from '../messaging/delivery-message';
import { OutboundPublisher } from '../messaging/outbound.publisher';
import { StorageMetrics } from './storage.metrics';

/**
 * Moves a delivery that cannot be stored to the dead-letter queue, with the reason in its headers.
 * Resolves only on the broker's confirm (bounded by PUBLISH_TIMEOUT_MS and by `signal`), so the
 * caller acks the original only once the copy is safe.
 */
@Injectable()
export class DeadLetters {
  private readonly logger = new Logger('DeadLetters');

  constructor(
    private readonly publisher: OutboundPublisher,
    private readonly metrics: StorageMetrics,
  ) {}

  async send(message: ConsumeMessage, reason: string, signal: AbortSignal): Promise<void> {
    const { deadLetterExchange, routingKey } = this.publisher.topology;
    const headers: Record<string, unknown> = {
      ...message.properties.headers,
      [DeliveryHeaders.failureReason]: reason.slice(0, 1000),
      [DeliveryHeaders.failedAt]: new Date().toISOString(),
    };
    await this.publisher.publish(
      deadLetterExchange,
      routingKey,
      message.content,
      { ...(message.properties as object), headers, persistent: true, mandatory: true },
      { signal },
    );
    this.metrics.deadLettered.inc({ reason: 'storage_failed' });
    this.logger.error({
      msg: 'delivery dead-lettered',
      deliveryId: headers[DeliveryHeaders.deliveryId],
      reason,
    });
  }
}
