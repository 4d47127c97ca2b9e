import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { DeadLetters } from './dead-letters';
import { DeliveryConsumer } from './delivery.consumer';
import { EventProcessor } from './event.processor';
import { QueueMetrics } from './queue.metrics';
import { StorageMetrics } from './storage.metrics';

@Module({
  imports: [EventsModule],
  providers: [DeliveryConsumer, EventProcessor, DeadLetters, StorageMetrics, QueueMetrics],
})
export class ConsumerModule {}
