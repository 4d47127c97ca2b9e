import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** An event owed to one HTTP destination (mirrors the migration; partial indexes are declared there). */
@Entity({ name: 'destination_events' })
@Check('destination_events_state_check', `state IN ('pending', 'failed')`)
@Index('destination_events_entity_idx', { synchronize: false })
@Index('destination_events_failed_idx', { synchronize: false })
export class DestinationEvent {
  @PrimaryColumn({ type: 'text' })
  destination: string;

  @PrimaryColumn({ type: 'bigint' })
  position: string;

  @PrimaryColumn({ type: 'integer' })
  item: number;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'entity_key', type: 'text', nullable: true })
  entityKey: string | null;

  @Column({ type: 'text', default: 'pending' })
  state: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
