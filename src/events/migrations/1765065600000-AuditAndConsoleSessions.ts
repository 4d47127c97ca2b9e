import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The audit trail of every admin action, and the console's sessions (shared by every replica). */
export class AuditAndConsoleSessions1765065600000 implements MigrationInterface {
  name = 'AuditAndConsoleSessions1765065600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE admin_audit (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at      timestamptz NOT NULL DEFAULT now(),
        key_id  text NOT NULL,
        action  text NOT NULL,
        target  text NOT NULL,
        reason  text NOT NULL,
        result  jsonb NOT NULL
      )`);
    // The trail is read newest first, in keyset pages.
    await queryRunner.query(`CREATE INDEX admin_audit_at_idx ON admin_audit (at, id)`);
    await queryRunner.query(`
      CREATE TABLE console_sessions (
        id_hash      text PRIMARY KEY,
        role         text NOT NULL,
        key_id       text NOT NULL,
        csrf_token   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE console_sessions`);
    await queryRunner.query(`DROP TABLE admin_audit`);
  }
}
