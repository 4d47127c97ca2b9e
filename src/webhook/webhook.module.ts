import { DynamicModule, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { SignatureModule } from '../signature/signature.module';
import { IntakeAdmission } from './intake-admission';
import { RawBodyMiddleware } from './raw-body.middleware';
import { RequestLogMiddleware } from './request-log.middleware';
import { TestPageStorage } from './test-page-storage';
import { WebhookController } from './webhook.controller';
import { WebhookIntake } from './webhook-intake.service';

export interface WebhookOptions {
  /** The test page shows storage (database, consumer, backlog): the roles that store. */
  storageState: boolean;
}

/** POST /webhook and its test page; needs MessagingModule's intake connection (DeliveryPublisher). */
@Module({})
export class WebhookModule implements NestModule {
  static forRoot({ storageState }: WebhookOptions): DynamicModule {
    return {
      module: WebhookModule,
      imports: [SignatureModule],
      controllers: [WebhookController],
      providers: [WebhookIntake, IntakeAdmission, ...(storageState ? [TestPageStorage] : [])],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(RequestLogMiddleware, RawBodyMiddleware)
      .forRoutes({ path: 'webhook', method: RequestMethod.POST });
  }
}
