import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { FaviconController } from './common/favicon.controller';
import { consumes, servesWebhook } from './app.roles';
import { ConfigModule } from './config/config.module';
import { ConsoleModule } from './console/console.module';
import { adminEnabled, type ConfigSlices } from './config/config.slices';
import { ConsumerModule } from './consumer/consumer.module';
import { FeedModule } from './feed/feed.module';
import { HealthModule } from './health/health.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { LoggingModule } from './logging/logging.module';
import type { ConnectionName } from './messaging/broker-connections';
import { MessagingModule } from './messaging/messaging.module';
import { MetricsModule } from './metrics/metrics.module';
import { RetentionModule } from './retention/retention.module';
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
    const role = config.app.role;
    const admin = consumes(role) && adminEnabled(config.admin);
    // Only the broker connections this role uses are opened.
    const connections: ConnectionName[] = [];
    if (servesWebhook(role)) connections.push('intake');
    if (consumes(role)) connections.push('consumer', 'outbound', 'queueDepth');
    if (admin) connections.push('deadLetters');
    imports.push(MessagingModule.forRoot(connections));
    if (servesWebhook(role)) imports.push(WebhookModule.forRoot({ storageState: consumes(role) }));
    if (consumes(role)) imports.push(ConsumerModule, FeedModule, RetentionModule);
    if (admin) imports.push(AdminModule, ConsoleModule);
    return { module: AppModule, imports, controllers: [FaviconController] };
  }
}
