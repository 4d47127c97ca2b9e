import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One row per action taken through /admin or /console: who, what, on what, why, and what came of it. */
@Entity({ name: 'admin_audit' })
@Index('admin_audit_at_idx', ['at', 'id'])
export class AdminAuditEntry {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  /** The first 8 hex digits of the SHA-256 of the key that acted (never the key). */
  @Column({ name: 'key_id', type: 'text' })
  keyId: string;

  @Column({ type: 'text' })
  action: string;

  @Column({ type: 'text' })
  target: string;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'jsonb' })
  result: unknown;
}
