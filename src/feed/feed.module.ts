import { Module } from '@nestjs/common';
import { DestinationsModule } from '../destinations/destinations.module';
import { EventsModule } from '../events/events.module';
import { FeedMetrics } from './feed.metrics';
import { FeedRelay } from './feed.relay';

/** The downstream feed: the relay of the outbox that EventStore fills (FEED_ENABLED); composed by app.module.ts. */
@Module({
  imports: [EventsModule, DestinationsModule],
  providers: [FeedRelay, FeedMetrics],
})
export class FeedModule {}
