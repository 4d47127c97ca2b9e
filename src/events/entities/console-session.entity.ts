import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Signed-in console sessions, kept in PostgreSQL so that every worker replica knows them and they
 * survive a restart. Only the SHA-256 of the cookie's id is stored: a copy of the table signs no one in.
 */
@Entity({ name: 'console_sessions' })
@Index('console_sessions_expires_idx', ['expiresAt'])
export class ConsoleSession {
  @PrimaryColumn({ name: 'id_hash', type: 'text' })
  idHash: string;

  /** `operator` or `read`. */
  @Column({ type: 'text' })
  role: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId: string;

  @Column({ name: 'csrf_token', type: 'text' })
  csrfToken: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
