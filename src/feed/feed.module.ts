import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { FeedMetrics } from './feed.metrics';
import { FeedRelay } from './feed.relay';
import { FeedSignal } from './feed.signal';

/** The downstream feed: the relay of the outbox that EventStore fills (FEED_ENABLED). */
@Module({
  imports: [EventsModule],
  providers: [FeedRelay, FeedSignal, FeedMetrics],
  exports: [FeedSignal],
})
export class FeedModule {}
