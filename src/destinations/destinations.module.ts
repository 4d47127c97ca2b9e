import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { DestinationAdmin } from './destination.admin';
import { DestinationDeliverer } from './destination.deliverer';
import { DestinationFanOut, DestinationSignal } from './destination.fan-out';
import { DestinationMetrics } from './destination.metrics';
import { DestinationSampler } from './destination.sampler';
import { DestinationSender } from './destination.sender';
import { Destinations } from './destinations';

/**
 * HTTP destinations (DESTINATIONS_FILE): the list in force, the fan-out the feed relay calls, and
 * the deliverer. In the roles with PostgreSQL (the feed module imports it).
 */
@Module({
  imports: [EventsModule],
  providers: [
    Destinations,
    DestinationMetrics,
    DestinationSignal,
    DestinationFanOut,
    DestinationSender,
    DestinationDeliverer,
    DestinationSampler,
    DestinationAdmin,
  ],
  exports: [Destinations, DestinationFanOut, DestinationMetrics, DestinationAdmin],
})
export class DestinationsModule {}
