import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The downstream feed's outbox, the quarantine's replay audit, and the indexes of the operations
 * API: each of its filters walks an index in `received_at` order (newest first, keyset pages).
 */
export class FeedOutboxAndOperations1764921600000 implements MigrationInterface {
  name = 'FeedOutboxAndOperations1764921600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One row per storing transaction: the events it stored, in storage order. Rows are deleted once
    // published, so the table holds only what the feed still owes.
    await queryRunner.query(`
      CREATE TABLE feed_outbox (
        position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_ids   text[] NOT NULL,
        replay      boolean NOT NULL DEFAULT false,
        enqueued_at timestamptz NOT NULL DEFAULT now()
      )`);

    await queryRunner.query(`ALTER TABLE quarantined_deliveries ADD COLUMN replayed_at timestamptz`);
    await queryRunner.query(`ALTER TABLE quarantined_deliveries ADD COLUMN replay_delivery_id text`);
    await queryRunner.query(`DROP INDEX quarantined_deliveries_received_idx`);
    await queryRunner.query(
      `CREATE INDEX quarantined_deliveries_received_idx ON quarantined_deliveries (received_at, id)`,
    );

    // The entity's story (all three keys) and the entityId filter alone both lead with entity_id.
    await queryRunner.query(`DROP INDEX webhook_events_entity_idx`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_entity_idx ON webhook_events (entity_id, entity_type, api_space_id, revision)`,
    );
    await queryRunner.query(`DROP INDEX webhook_events_name_time_idx`);
    for (const [name, columns] of [
      ['webhook_events_received_idx', 'received_at, event_id'],
      ['webhook_events_name_received_idx', 'name, received_at, event_id'],
      ['webhook_events_space_received_idx', 'api_space_id, received_at, event_id'],
      ['webhook_events_type_received_idx', 'entity_type, received_at, event_id'],
      ['webhook_events_outcome_received_idx', 'outcome, received_at, event_id'],
    ])
      await queryRunner.query(`CREATE INDEX ${name} ON webhook_events (${columns})`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const name of [
      'webhook_events_received_idx',
      'webhook_events_name_received_idx',
      'webhook_events_space_received_idx',
      'webhook_events_type_received_idx',
      'webhook_events_outcome_received_idx',
      'webhook_events_entity_idx',
    ])
      await queryRunner.query(`DROP INDEX ${name}`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_entity_idx ON webhook_events (api_space_id, entity_type, entity_id, revision)`,
    );
    await queryRunner.query(
      `CREATE INDEX webhook_events_name_time_idx ON webhook_events (name, event_timestamp)`,
    );
    await queryRunner.query(`DROP INDEX quarantined_deliveries_received_idx`);
    await queryRunner.query(
      `CREATE INDEX quarantined_deliveries_received_idx ON quarantined_deliveries (received_at)`,
    );
    await queryRunner.query(`ALTER TABLE quarantined_deliveries DROP COLUMN replay_delivery_id`);
    await queryRunner.query(`ALTER TABLE quarantined_deliveries DROP COLUMN replayed_at`);
    await queryRunner.query(`DROP TABLE feed_outbox`);
  }
}
