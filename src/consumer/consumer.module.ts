import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { FeedModule } from '../feed/feed.module';
import { OutboundMessagingModule } from '../messaging/messaging.module';
import { DeadLetters } from './dead-letters';
import { DeliveryConsumer } from './delivery.consumer';
import { EventProcessor } from './event.processor';
import { StorageMetrics } from './storage.metrics';

@Module({
  imports: [EventsModule, OutboundMessagingModule, FeedModule],
  providers: [DeliveryConsumer, EventProcessor, DeadLetters, StorageMetrics],
})
export class ConsumerModule {}
