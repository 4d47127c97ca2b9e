import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** What the feed still owes: the events one transaction stored (or a replay asked for), in order. */
@Entity({ name: 'feed_outbox' })
export class FeedOutboxEntry {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  position: string;

  @Column({ name: 'event_ids', type: 'text', array: true })
  eventIds: string[];

  @Column({ type: 'boolean', default: false })
  replay: boolean;

  @Column({ name: 'enqueued_at', type: 'timestamptz', default: () => 'now()' })
  enqueuedAt: Date;
}
