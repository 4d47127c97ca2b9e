import { Inject, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { HealthProbe } from '../health/health.registry';
import type { AmqpConnection } from './amqp-connection';

/**
 * The broker connections a role may hold, each of its own: RabbitMQ blocks a connection that
 * publishes during a resource alarm, and what waits behind one (the consumer's acks, the intake's
 * confirms) must not wait behind another's publishes.
 */
export const CONNECTIONS = {
  /** The intake's DeliveryPublisher. */
  intake: { name: 'publisher', probe: { part: 'publisher', neededFor: 'receiving' } },
  /** DeliveryConsumer; connected once storage is ready to take messages (it starts it). */
  consumer: { name: 'consumer', probe: { part: 'consumer', neededFor: 'storing' } },
  /** What the worker publishes: dead letters and the feed (OutboundPublisher). */
  outbound: { name: 'outbound', probe: { part: 'outbound', neededFor: 'nothing' } },
  /** The operations API's dead-letter queue (DeadLetterQueue). */
  deadLetters: { name: 'dead-letters', probe: null },
  /** Passive queue checks: the queue metrics and the test page's backlog (QueueDepth). */
  queueDepth: { name: 'queue-metrics', probe: null },
} as const satisfies Record<
  string,
  { name: string; probe: { part: string; neededFor: HealthProbe['neededFor'] } | null }
>;

export type ConnectionName = keyof typeof CONNECTIONS;

export const connectionToken = (name: ConnectionName): string => `AmqpConnection:${name}`;

/** Injects the named connection MessagingModule provides. */
export const InjectConnection = (name: ConnectionName): ParameterDecorator => Inject(connectionToken(name));

/**
 * Owns the lifecycle of every connection the role holds: connects them on bootstrap (the consumer's
 * when DeliveryConsumer is ready) and closes them on shutdown, after every other module's shutdown
 * hook (MessagingModule is global: Nest shuts it down last), so a batch being drained, a feed round
 * or a dead letter in flight still has its connection. The consumer's closes first, channel before
 * connection (AmqpConnection.close), so its acks are never overtaken.
 */
export class BrokerConnections implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly connections: ReadonlyMap<ConnectionName, AmqpConnection>) {}

  get(name: ConnectionName): AmqpConnection {
    const connection = this.connections.get(name);
    if (!connection) throw new Error(`no ${name} broker connection in this role`);
    return connection;
  }

  onApplicationBootstrap(): void {
    for (const [name, connection] of this.connections) if (name !== 'consumer') connection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connections.get('consumer')?.close();
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
  }
}
