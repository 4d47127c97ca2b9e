import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { HealthMetrics } from './health.metrics';
import { HealthRegistry } from './health.registry';
import { Readiness } from './readiness';

/** Global: every module that owns a connection registers its probe in the HealthRegistry. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
  controllers: [HealthController],
  providers: [HealthRegistry, Readiness, HealthMetrics],
  exports: [HealthRegistry, Readiness],
})
export class HealthModule {}
