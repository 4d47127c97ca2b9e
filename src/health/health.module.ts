import { DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { consumes, servesWebhook, type AppRole } from '../app.roles';
import { ConsumerModule } from '../consumer/consumer.module';
import { EventsModule } from '../events/events.module';
import { MessagingModule } from '../messaging/messaging.module';
import { HealthController } from './health.controller';
import { RabbitMqHealthIndicator } from './rabbitmq.health';

@Module({})
export class HealthModule {
  /** Imports exactly the dependencies this role has, so /health reports those and no others. */
  static forRole(role: AppRole): DynamicModule {
    const imports: ModuleMetadata['imports'] = [TerminusModule.forRoot({ errorLogStyle: 'json' })];
    if (servesWebhook(role)) imports.push(MessagingModule);
    if (consumes(role)) imports.push(EventsModule, ConsumerModule);
    return {
      module: HealthModule,
      imports,
      controllers: [HealthController],
      providers: [RabbitMqHealthIndicator],
    };
  }
}
