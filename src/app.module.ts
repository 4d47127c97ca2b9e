import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { consumes, servesWebhook } from './app.roles';
import { ConfigModule } from './config/config.module';
import type { Env } from './config/env.schema';
import { ConsumerModule } from './consumer/consumer.module';
import { HealthModule } from './health/health.module';
import { ReadinessModule } from './health/readiness.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { WebhookModule } from './webhook/webhook.module';

/** Composes the modules of one role (DESIGN §2): `api` receives, `worker` stores, `all` does both. */
@Module({})
export class AppModule {
  static forRoot(env: Env): DynamicModule {
    const imports: ModuleMetadata['imports'] = [
      ConfigModule.forRoot(env),
      LoggingModule,
      MetricsModule,
      ReadinessModule,
      HealthModule.forRole(env.APP_ROLE),
    ];
    if (servesWebhook(env.APP_ROLE)) imports.push(WebhookModule);
    if (consumes(env.APP_ROLE)) imports.push(ConsumerModule);
    return { module: AppModule, imports };
  }
}
