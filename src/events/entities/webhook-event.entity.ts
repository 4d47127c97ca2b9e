import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type EventOutcome = 'applied' | 'stale' | 'untracked';

/** One row per distinct eventId (DESIGN §4). bigint columns read back as strings (pg's default). */
@Entity({ name: 'webhook_events' })
@Index('webhook_events_entity_idx', ['apiSpaceId', 'entityType', 'entityId', 'revision'])
@Index('webhook_events_name_time_idx', ['name', 'eventTimestamp'])
@Index('webhook_events_delivery_idx', ['deliveryId'])
export class WebhookEvent {
  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'account_id', type: 'bigint', nullable: true })
  accountId: string | null;

  @Column({ name: 'api_space_id', type: 'text', nullable: true })
  apiSpaceId: string | null;

  @Column({ name: 'entity_type', type: 'text' })
  entityType: string;

  @Column({ name: 'entity_id', type: 'text', nullable: true })
  entityId: string | null;

  @Column({ type: 'bigint', nullable: true })
  revision: string | null;

  @Column({ type: 'text', nullable: true })
  etag: string | null;

  @Column({ name: 'event_timestamp', type: 'timestamptz', nullable: true })
  eventTimestamp: Date | null;

  @Column({ type: 'text' })
  outcome: EventOutcome;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'stored_at', type: 'timestamptz', default: () => 'now()' })
  storedAt: Date;
}
