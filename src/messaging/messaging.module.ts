import { DynamicModule, Module, type Provider } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import { HealthRegistry } from '../health/health.registry';
import { AmqpConnection } from './amqp-connection';
import { brokerProbe } from './broker.probe';
import { BrokerConnections, CONNECTIONS, connectionToken, type ConnectionName } from './broker-connections';
import { DeadLetterQueue } from './dead-letter.queue';
import { DeliveryPublisher } from './delivery.publisher';
import { OutboundPublisher } from './outbound.publisher';
import { QueueDepth } from './queue-depth';
import { topologyFor } from './topology';

/** The service each connection serves, provided only where its connection is. */
const USERS: Partial<Record<ConnectionName, Provider>> = {
  intake: DeliveryPublisher,
  outbound: OutboundPublisher,
  deadLetters: DeadLetterQueue,
  queueDepth: QueueDepth,
};

/**
 * The broker connections of a role (app.module.ts names them), as golevelup's RabbitMQModule
 * provides its AmqpConnection: each is injected by name (@InjectConnection) or through the service
 * that uses it, and BrokerConnections connects and closes them. Global, so that Nest shuts it down
 * after every module that publishes or consumes.
 */
@Module({})
export class MessagingModule {
  static forRoot(names: readonly ConnectionName[]): DynamicModule {
    const owner: Provider = {
      provide: BrokerConnections,
      inject: [BrokerConfig, HealthRegistry],
      useFactory: (config: BrokerConfig, health: HealthRegistry) => {
        const topology = topologyFor(config.prefix);
        const connections = new Map<ConnectionName, AmqpConnection>();
        for (const name of names) {
          const { name: suffix, probe } = CONNECTIONS[name];
          const connection = new AmqpConnection({
            urls: config.urls,
            name: `${config.prefix}-${suffix}`,
            topology,
          });
          if (probe) health.register(brokerProbe(probe.part, connection, probe.neededFor));
          connections.set(name, connection);
        }
        return new BrokerConnections(connections);
      },
    };
    const byName: Provider[] = names.map((name) => ({
      provide: connectionToken(name),
      inject: [BrokerConnections],
      useFactory: (connections: BrokerConnections) => connections.get(name),
    }));
    const users = names.flatMap((name) => USERS[name] ?? []);
    return {
      module: MessagingModule,
      global: true,
      providers: [owner, ...byName, ...users],
      exports: [...byName, ...users],
    };
  }
}
