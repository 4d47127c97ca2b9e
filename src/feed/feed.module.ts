import { Module } from '@nestjs/common';
import { DestinationsModule } from '../destinations/destinations.module';
import { EventsModule } from '../events/events.module';
import { OutboundMessagingModule } from '../messaging/messaging.module';
import { FeedMetrics } from './feed.metrics';
import { FeedRelay } from './feed.relay';
import { FeedSignal } from './feed.signal';

/** The downstream feed: the relay of the outbox that EventStore fills (FEED_ENABLED). */
@Module({
  imports: [EventsModule, OutboundMessagingModule, DestinationsModule],
  providers: [FeedRelay, FeedSignal, FeedMetrics],
  exports: [FeedSignal],
})
export class FeedModule {}
