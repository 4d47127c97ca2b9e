import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { AmqpConnection } from '../messaging/amqp-connection';

/** Up when every given connection (publisher, consumer) has an open channel that the broker does not block. */
@Injectable()
export class RabbitMqHealthIndicator {
  constructor(private readonly indicators: HealthIndicatorService) {}

  check(key: string, connections: Record<string, AmqpConnection>): HealthIndicatorResult {
    const session = this.indicators.check(key);
    const states = Object.fromEntries(
      Object.entries(connections).map(([name, connection]) => [name, stateOf(connection)]),
    );
    const up = Object.values(connections).every((connection) => connection.usable);
    return up ? session.up(states) : session.down(states);
  }
}

function stateOf(connection: AmqpConnection): string {
  if (!connection.connected) return 'disconnected';
  const blocked = connection.blockedReason;
  return blocked ? `blocked: ${blocked}` : 'connected';
}
