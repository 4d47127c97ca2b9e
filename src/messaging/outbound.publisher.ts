import { Injectable } from '@nestjs/common';
import type { Options } from 'amqplib';
import { BrokerConfig } from '../config/config.slices';
import type { AmqpConnection, OutgoingMessage, PublishLimits } from './amqp-connection';
import { InjectConnection } from './broker-connections';
import { topologyFor, type Topology } from './topology';

/**
 * What the worker publishes (dead letters, the downstream feed, replays), on a connection of its
 * own: RabbitMQ blocks a connection that publishes during a resource alarm, and the consumer's acks
 * must not wait behind it.
 */
@Injectable()
export class OutboundPublisher {
  readonly topology: Topology;

  constructor(
    private readonly config: BrokerConfig,
    @InjectConnection('outbound') private readonly connection: AmqpConnection,
  ) {
    this.topology = topologyFor(config.prefix);
  }

  get usable(): boolean {
    return this.connection.status().usable;
  }

  /** A confirmed publish (AmqpConnection.publish); the timeout defaults to PUBLISH_TIMEOUT_MS. */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: Options.Publish,
    limits: Partial<PublishLimits> = {},
  ): Promise<void> {
    return this.connection.publish(exchange, routingKey, content, properties, this.limitsOf(limits));
  }

  /** Confirmed publishes of many messages in order, one wait for all (AmqpConnection.publishAll). */
  publishAll(messages: readonly OutgoingMessage[], limits: Partial<PublishLimits> = {}): Promise<void> {
    return this.connection.publishAll(messages, this.limitsOf(limits));
  }

  private limitsOf(limits: Partial<PublishLimits>): PublishLimits {
    return { timeoutMs: limits.timeoutMs ?? this.config.publishTimeoutMs, signal: limits.signal };
  }
}
