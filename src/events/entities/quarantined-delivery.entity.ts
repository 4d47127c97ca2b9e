import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Signed deliveries, or batch items, that could not be understood or stored; `body` holds their exact bytes. */
@Entity({ name: 'quarantined_deliveries' })
@Index('quarantined_deliveries_received_idx', ['receivedAt', 'id'])
// Unique per (delivery_id, coalesce(item_index, -1)): an expression TypeORM cannot declare.
@Index('quarantined_deliveries_item_uq', { synchronize: false })
export class QuarantinedDelivery {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'bytea' })
  body: Buffer;

  @Column({ name: 'item_index', type: 'integer', nullable: true })
  itemIndex: number | null;

  @Column({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'replayed_at', type: 'timestamptz', nullable: true })
  replayedAt: Date | null;

  @Column({ name: 'replay_delivery_id', type: 'text', nullable: true })
  replayDeliveryId: string | null;

  /** When an operator marked it as needing no replay, and why. */
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;

  @Column({ name: 'resolved_reason', type: 'text', nullable: true })
  resolvedReason: string | null;
}
