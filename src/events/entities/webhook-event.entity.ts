import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type EventOutcome = 'applied' | 'stale' | 'untracked';

/**
 * The one value of a column that its filter's index leaves out (migration RareValueIndexes): most
 * stored events carry it, so indexing it would cost nearly every insert, and a page of it is found by
 * walking received_at's index (most rows match). The list query never leads with these values.
 */
export const UNINDEXED_VALUES: Readonly<Record<string, string>> = {
  outcome: 'applied',
  entity_type: 'message',
};

/**
 * One row per distinct eventId; mirrors the migrations (test/schema.e2e-spec.ts keeps them equal).
 * bigint columns read back as strings, exactly.
 */
@Entity({ name: 'webhook_events' })
@Check('webhook_events_outcome_check', `outcome IN ('applied', 'stale', 'untracked')`)
@Index('webhook_events_entity_idx', ['entityId', 'entityType', 'apiSpaceId', 'revision'])
@Index('webhook_events_delivery_idx', ['deliveryId'])
@Index('webhook_events_received_idx', ['receivedAt', 'eventId'])
@Index('webhook_events_name_received_idx', ['name', 'receivedAt', 'eventId'])
@Index('webhook_events_space_received_idx', ['apiSpaceId', 'receivedAt', 'eventId'])
@Index('webhook_events_type_received_idx', ['entityType', 'receivedAt', 'eventId'], {
  where: `entity_type <> '${UNINDEXED_VALUES.entity_type}'`,
})
@Index('webhook_events_outcome_received_idx', ['outcome', 'receivedAt', 'eventId'], {
  where: `outcome <> '${UNINDEXED_VALUES.outcome}'`,
})
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
  payload: unknown;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'stored_at', type: 'timestamptz', default: () => 'now()' })
  storedAt: Date;

  /** The W3C traceparent of the delivery that brought it; null when untraced. */
  @Column({ type: 'text', nullable: true })
  traceparent: string | null;
}
