import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Options } from 'amqplib';
import { BrokerConfig } from '../config/config.slices';
import { HealthRegistry } from '../health/health.registry';
import { AmqpConnection, type PublishLimits } from './amqp-connection';
import { brokerProbe } from './broker.probe';
import { topologyFor, type Topology } from './topology';

/**
 * What the worker publishes (dead letters, the downstream feed, replays), on a connection of its
 * own: RabbitMQ blocks a connection that publishes during a resource alarm, and the consumer's acks
 * must not wait behind it.
 */
@Injectable()
export class OutboundPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly connection: AmqpConnection;
  readonly topology: Topology;

  constructor(
    private readonly config: BrokerConfig,
    health: HealthRegistry,
  ) {
    this.topology = topologyFor(config.prefix);
    this.connection = new AmqpConnection({
      urls: config.urls,
      name: `${config.prefix}-outbound`,
      topology: this.topology,
    });
    health.register(brokerProbe('outbound', this.connection, 'nothing'));
  }

  onApplicationBootstrap(): void {
    this.connection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
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
    return this.connection.publish(exchange, routingKey, content, properties, {
      timeoutMs: limits.timeoutMs ?? this.config.publishTimeoutMs,
      signal: limits.signal,
    });
  }
}
