import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import { Lifecycle } from '../lifecycle/lifecycle';
import { HealthRegistry, type HealthProbe } from './health.registry';
import { Readiness } from './readiness';

/**
 * /health names every dependency of this role (monitoring); /health/ready is what this instance
 * needs to do its job now (load balancer, see Readiness); /health/live checks nothing but the
 * process. Which dependencies exist is up to the modules of the role (HealthRegistry).
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthRegistry,
    private readonly readiness: Readiness,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Every dependency of this role (200 when all are up, else 503)' })
  check(): Promise<HealthCheckResult> {
    return this.health.check(this.indicatorsFor(this.registry.list()));
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
    return this.health.check([this.lifecycleIndicator(), ...this.indicatorsFor(this.readiness.probes())]);
  }

  @Get('live')
  @ApiOperation({ summary: 'The process runs (checks nothing else)' })
  @ApiOkResponse({
    description: 'Always, while the process runs.',
    schema: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['ok'] } },
      required: ['status'],
    },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** One Terminus indicator per dependency; the parts of a dependency (publisher, consumer) are its details. */
  private indicatorsFor(probes: readonly HealthProbe[]): HealthIndicatorFunction[] {
    const byDependency = new Map<string, HealthProbe[]>();
    for (const probe of probes)
      byDependency.set(probe.dependency, [...(byDependency.get(probe.dependency) ?? []), probe]);
    return [...byDependency].map(([dependency, parts]) => async () => {
      const results = await Promise.all(parts.map(async (probe) => ({ probe, result: await probe.check() })));
      const details = Object.fromEntries(
        results.map(({ probe, result }) => [probe.part ?? 'state', result.state]),
      );
      const session = this.indicators.check(dependency);
      return results.every(({ result }) => result.up) ? session.up(details) : session.down(details);
    });
  }

  private lifecycleIndicator(): HealthIndicatorFunction {
    return () => {
      const session = this.indicators.check('lifecycle');
      return this.lifecycle.shuttingDown
        ? session.down({ state: 'shutting down' })
        : session.up({ state: 'running' });
    };
  }
}
