import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { FeedMetrics } from './feed.metrics';
import { FeedRelay } from './feed.relay';

/** The downstream feed: the relay of the outbox that EventStore fills (FEED_ENABLED); composed by app.module.ts. */
@Module({
  imports: [EventsModule],
  providers: [FeedRelay, FeedMetrics],
})
export class FeedModule {}
