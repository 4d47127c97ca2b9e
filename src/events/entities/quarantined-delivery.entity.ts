import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Signed deliveries, or batch items, that could not be understood; `body` holds the exact bytes. */
@Entity({ name: 'quarantined_deliveries' })
export class QuarantinedDelivery {
  @PrimaryGeneratedColumn({ type: 'bigint' })
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
}
