import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { MessagingModule } from '../messaging/messaging.module';
import { SignatureModule } from '../signature/signature.module';
import { RawBodyMiddleware } from './raw-body.middleware';
import { RequestLogMiddleware } from './request-log.middleware';
import { WebhookController } from './webhook.controller';
import { WebhookIntake } from './webhook-intake.service';
import { IntakeAdmission } from './intake-admission';

@Module({
  imports: [MessagingModule, SignatureModule],
  controllers: [WebhookController],
  providers: [WebhookIntake, IntakeAdmission],
})
export class WebhookModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(RequestLogMiddleware, RawBodyMiddleware)
      .forRoutes({ path: 'webhook', method: RequestMethod.POST });
  }
}
