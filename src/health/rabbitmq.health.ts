import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { AmqpConnection } from '../messaging/amqp-connection';

/** Up when every given connection (publisher, consumer) has an open channel to RabbitMQ. */
@Injectable()
export class RabbitMqHealthIndicator {
  constructor(private readonly indicators: HealthIndicatorService) {}

  check(key: string, connections: Record<string, AmqpConnection>): HealthIndicatorResult {
    const session = this.indicators.check(key);
    const states = Object.fromEntries(
      Object.entries(connections).map(([name, connection]) => [
        name,
        connection.connected ? 'connected' : 'disconnected',
      ]),
    );
    const up = Object.values(connections).every((connection) => connection.connected);
    return up ? session.up(states) : session.down(states);
  }
}
