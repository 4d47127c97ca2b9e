import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AdminConfig } from '../config/config.slices';
import type { AdminActor, AdminRole } from '../admin/http/admin-keys';

export interface SessionView extends AdminActor {
  csrfToken: string;
}

/**
 * Console sessions in PostgreSQL (console_sessions): a session made on one replica is valid on every
 * other and after a restart. The cookie holds 32 random bytes; the table only their SHA-256.
 */
@Injectable()
export class ConsoleSessions {
  private readonly idleMinutes: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: AdminConfig,
  ) {
    this.idleMinutes = config.sessionMinutes;
  }

  /** A new session of `actor`; returns the cookie's value. Ended sessions are swept on the way. */
  async open(actor: AdminActor): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.dataSource.query(`DELETE FROM console_sessions WHERE expires_at < now()`);
    await this.dataSource.query(
      `INSERT INTO console_sessions (id_hash, role, key_id, csrf_token, expires_at)
       VALUES ($1, $2, $3, $4, now() + $5 * interval '1 minute')`,
      [hash(id), actor.role, actor.keyId, randomBytes(24).toString('base64url'), this.idleMinutes],
    );
    return id;
  }

  /** The live session of a cookie value, its idle clock restarted; null when unknown or ended. */
  async resume(id: string): Promise<SessionView | null> {
    const rows: { role: AdminRole; key_id: string; csrf_token: string }[] = await this.dataSource.query(
      // A SELECT around the UPDATE: TypeORM answers an UPDATE's RETURNING as [rows, count].
      `WITH touched AS (
         UPDATE console_sessions SET last_seen_at = now(), expires_at = now() + $2 * interval '1 minute'
          WHERE id_hash = $1 AND expires_at > now()
          RETURNING role, key_id, csrf_token)
       SELECT role, key_id, csrf_token FROM touched`,
      [hash(id), this.idleMinutes],
    );
    const [row] = rows;
    return row ? { role: row.role, keyId: row.key_id, csrfToken: row.csrf_token } : null;
  }

  async close(id: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM console_sessions WHERE id_hash = $1`, [hash(id)]);
  }
}

function hash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
