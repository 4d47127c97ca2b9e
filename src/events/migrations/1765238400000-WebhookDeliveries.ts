import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per accepted delivery, written with its batch: what came of it (events stored, repeats,
 * quarantined items) and who signed it, also when it held only repeats and so left no event row.
 */
export class WebhookDeliveries1765238400000 implements MigrationInterface {
  name = 'WebhookDeliveries1765238400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        delivery_id      text PRIMARY KEY,
        received_at      timestamptz NOT NULL,
        stored_at        timestamptz NOT NULL DEFAULT now(),
        events           integer NOT NULL,
        repeats          integer NOT NULL,
        quarantined      integer NOT NULL,
        repeat_event_ids text[],
        key_id           text,
        api_space_id     text
      )`);
    // Retention and the newest-first list walk (received_at, delivery_id).
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at, delivery_id)`,
    );
    // An entity's repeats: only deliveries that held repeats are indexed, so the usual delivery
    // (no repeat, a NULL) costs this index nothing.
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_repeats_idx ON webhook_deliveries USING gin (repeat_event_ids)
        WHERE repeat_event_ids IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE webhook_deliveries`);
  }
}
