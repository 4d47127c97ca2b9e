import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One accepted delivery and what came of it, written in the transaction that stores its batch. */
@Entity({ name: 'webhook_deliveries' })
@Index('webhook_deliveries_received_idx', ['receivedAt', 'deliveryId'])
// A partial GIN index (repeat_event_ids IS NOT NULL): declared by the migration alone.
@Index('webhook_deliveries_repeats_idx', { synchronize: false })
export class WebhookDelivery {
  @PrimaryColumn({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'stored_at', type: 'timestamptz', default: () => 'now()' })
  storedAt: Date;

  /** Events of it stored for the first time. */
  @Column({ type: 'integer' })
  events: number;

  /** Events of it whose eventId was stored before (or came twice in it). */
  @Column({ type: 'integer' })
  repeats: number;

  /** Quarantine rows written for it (whole delivery or items). */
  @Column({ type: 'integer' })
  quarantined: number;

  /** The repeated eventIds; null when there was none. */
  @Column({ name: 'repeat_event_ids', type: 'text', array: true, nullable: true })
  repeatEventIds: string[] | null;

  /** The fingerprint of the secret that signed it; null when not known (a replay, a hand-made message). */
  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId: string | null;

  /** The API space of that secret; null for a secret valid for any space. */
  @Column({ name: 'api_space_id', type: 'text', nullable: true })
  apiSpaceId: string | null;
}
