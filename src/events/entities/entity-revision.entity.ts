import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The latest state per entity; moved only by a strictly higher revision. Mirrors the migrations. */
@Entity({ name: 'entity_revisions' })
export class EntityRevision {
  @PrimaryColumn({ name: 'api_space_id', type: 'text' })
  apiSpaceId: string;

  @PrimaryColumn({ name: 'entity_type', type: 'text' })
  entityType: string;

  @PrimaryColumn({ name: 'entity_id', type: 'text' })
  entityId: string;

  @Column({ type: 'bigint' })
  revision: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_name', type: 'text' })
  eventName: string;

  @Column({ name: 'event_timestamp', type: 'timestamptz', nullable: true })
  eventTimestamp: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
