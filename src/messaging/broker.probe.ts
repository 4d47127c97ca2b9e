import type { HealthProbe } from '../health/health.registry';
import type { AmqpConnection } from './amqp-connection';

/** The /health probe of one broker connection, registered by the module that owns it. */
export function brokerProbe(
  part: string,
  connection: AmqpConnection,
  neededFor: HealthProbe['neededFor'],
): HealthProbe {
  return {
    dependency: 'rabbitmq',
    part,
    neededFor,
    check: () => {
      const { usable, state } = connection.status();
      return { up: usable, state };
    },
  };
}
