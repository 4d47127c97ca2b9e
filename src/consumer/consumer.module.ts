import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { OutboundMessagingModule } from '../messaging/messaging.module';
import { DeadLetters } from './dead-letters';
import { DeliveryConsumer } from './delivery.consumer';
import { EventProcessor } from './event.processor';

@Module({
  imports: [EventsModule, OutboundMessagingModule],
  providers: [DeliveryConsumer, EventProcessor, DeadLetters],
})
export class ConsumerModule {}
