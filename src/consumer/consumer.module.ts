import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { DeliveryConsumer } from './delivery.consumer';
import { EventProcessor } from './event.processor';

@Module({
  imports: [EventsModule],
  providers: [DeliveryConsumer, EventProcessor],
  exports: [DeliveryConsumer],
})
export class ConsumerModule {}
