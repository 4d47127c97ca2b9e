import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { FaviconController } from './common/favicon.controller';
import { consumes, servesWebhook } from './app.roles';
import { ConfigModule } from './config/config.module';
import { ConsoleModule } from './console/console.module';
import { adminEnabled, type ConfigSlices } from './config/config.slices';
import { ConsumerModule } from './consumer/consumer.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { WebhookModule } from './webhook/webhook.module';

/**
 * Composes the modules of one role: `api` receives, `worker` stores, `all` does both. This is the
 * only place the role decides anything; each module registers its own health probes.
 */
@Module({})
export class AppModule {
  static forRoot(config: ConfigSlices): DynamicModule {
    const imports: ModuleMetadata['imports'] = [
      ConfigModule.forRoot(config),
      LoggingModule,
      MetricsModule,
      LifecycleModule,
      HealthModule,
    ];
    if (servesWebhook(config.app.role)) imports.push(WebhookModule);
    if (consumes(config.app.role)) imports.push(ConsumerModule);
    if (consumes(config.app.role) && adminEnabled(config.admin)) imports.push(AdminModule, ConsoleModule);
    return { module: AppModule, imports, controllers: [FaviconController] };
  }
}
