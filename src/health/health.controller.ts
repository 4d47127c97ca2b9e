import { Controller, Get, Optional } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { DeliveryConsumer } from '../consumer/delivery.consumer';
import { DatabaseService } from '../events/database.service';
import type { AmqpConnection } from '../messaging/amqp-connection';
import { DeliveryPublisher } from '../messaging/delivery.publisher';
import { RabbitMqHealthIndicator } from './rabbitmq.health';
import { ReadinessState } from './readiness.state';

/**
 * DESIGN §3: /health names every dependency of this role (monitoring); /health/ready is what this
 * instance needs to do its job now (load balancer); /health/live checks nothing but the process.
 * The publisher exists in the api and all roles, the consumer and database in worker and all.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly rabbitmq: RabbitMqHealthIndicator,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly readiness: ReadinessState,
    @Optional() private readonly publisher?: DeliveryPublisher,
    @Optional() private readonly consumer?: DeliveryConsumer,
    @Optional() private readonly database?: DatabaseService,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Every dependency of this role (200 when all are up, else 503)' })
  check(): Promise<HealthCheckResult> {
    return this.health.check([this.brokerCheck(), ...this.databaseChecks()]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Can this instance do its job now (load balancer)',
    description:
      'api/all: broker connected and not shutting down. worker: broker and database. A PostgreSQL outage does not ' +
      'take an api instance out of the pool.',
  })
  ready(): Promise<HealthCheckResult> {
    // An instance that serves the webhook is ready when it can publish: in the `all` role the consumer
    // waits for PostgreSQL before it connects, and a database outage must not take it out of the pool.
    if (this.publisher)
      return this.health.check([
        this.lifecycleCheck(),
        this.brokerCheck({ publisher: this.publisher.connection }),
      ]);
    return this.health.check([this.lifecycleCheck(), this.brokerCheck(), ...this.databaseChecks()]);
  }

  @Get('live')
  @ApiOperation({ summary: 'The process runs (checks nothing else)' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Every broker connection of this role, unless told which ones matter. */
  private brokerCheck(
    connections: Record<string, AmqpConnection> = this.brokerConnections(),
  ): HealthIndicatorFunction {
    return () => this.rabbitmq.check('rabbitmq', connections);
  }

  private brokerConnections(): Record<string, AmqpConnection> {
    const connections: Record<string, AmqpConnection> = {};
    if (this.publisher) connections.publisher = this.publisher.connection;
    if (this.consumer) connections.consumer = this.consumer.connection;
    return connections;
  }

  private databaseChecks(): HealthIndicatorFunction[] {
    const database = this.database;
    if (!database) return [];
    return [() => this.typeorm.pingCheck('postgres', { connection: database.dataSource, timeout: 2000 })];
  }

  private lifecycleCheck(): HealthIndicatorFunction {
    return () => {
      const session = this.indicators.check('lifecycle');
      return this.readiness.shuttingDown
        ? session.down({ state: 'shutting down' })
        : session.up({ state: 'running' });
    };
  }
}
