import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { EventStore } from './event.store';
import { FeedOutbox } from './feed-outbox';
import { FeedSignal } from './feed.signal';

/** The stored events: EventStore writes them, FeedOutbox owns what the feed owes, FeedSignal wakes the relay. */
@Module({
  imports: [DatabaseModule],
  providers: [EventStore, FeedOutbox, FeedSignal],
  exports: [DatabaseModule, EventStore, FeedOutbox, FeedSignal],
})
export class EventsModule {}
