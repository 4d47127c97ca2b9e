import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The trace each event was stored with (its delivery's W3C traceparent), so that the feed message
 * continues that trace however late it is published: after the outbox, a relay takeover, a replay.
 * Nullable without a default: instant on a large table, and untraced events hold only a NULL.
 */
export class EventTraceparent1765152000000 implements MigrationInterface {
  name = 'EventTraceparent1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE webhook_events ADD COLUMN traceparent text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE webhook_events DROP COLUMN traceparent`);
  }
}
