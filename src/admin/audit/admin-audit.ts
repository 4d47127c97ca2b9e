import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditPage } from '../admin.views';
import type { AdminActor } from '../http/admin-keys';
import type { CursorCodec } from '../http/cursor';
import { RawJson } from '../http/raw-json';

/** What one action did, as the audit trail keeps it. */
export interface AuditEntry {
  actor: AdminActor;
  /** `quarantine.replay`, `quarantine.resolve`, `dead-letters.move`, `events.replay`, `destination.<action>`. */
  action: string;
  target: string;
  reason: string;
  result: unknown;
}

interface AuditRow {
  id: string;
  at: Date;
  at_us: string;
  key_id: string;
  action: string;
  target: string;
  reason: string;
  result: string;
}

/** The one writer and reader of admin_audit. */
@Injectable()
export class AdminAudit {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes the row through `manager`: the caller's transaction, so an action and its row commit together. */
  async record(manager: EntityManager, entry: AuditEntry): Promise<void> {
    await manager.query(
      `INSERT INTO admin_audit (key_id, action, target, reason, result) VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [entry.actor.keyId, entry.action, entry.target, entry.reason, JSON.stringify(entry.result)],
    );
  }

  /** Newest first, keyset pages on (at, id). */
  async list(limit: number, cursor: string | undefined, codec: CursorCodec): Promise<AuditPage> {
    const after = codec.decode(cursor);
    const params: unknown[] = [limit + 1];
    const where = after
      ? `WHERE (at, id) < ('epoch'::timestamptz + ($${params.push(after.receivedAtMicros)}::bigint * interval '1 microsecond'),
                         $${params.push(after.id)}::bigint)`
      : '';
    const rows: AuditRow[] = await this.dataSource.query(
      `SELECT id::text AS id, at, (extract(epoch FROM at) * 1000000)::bigint::text AS at_us, key_id,
              action, target, reason, result::text AS result
         FROM admin_audit ${where} ORDER BY at DESC, id DESC LIMIT $1`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({
        id: Number(row.id),
        at: row.at.toISOString(),
        keyId: row.key_id,
        action: row.action,
        target: row.target,
        reason: row.reason,
        result: new RawJson(row.result),
      })),
      nextCursor: rows.length > limit ? codec.encode({ receivedAtMicros: last.at_us, id: last.id }) : null,
    };
  }
}
