import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outcome and entityType filters' indexes hold only the rare values: an outcome other than
 * `applied`, an entity type other than `message`. Most of Dotdigital's traffic is message status
 * events that move their message's state, so most stored events no longer write these two indexes
 * (each cost 13–30 µs of a stored event, docs/performance.md). A page of a common value is found by
 * walking received_at's own index and filtering (most rows match); the list query knows which values
 * are not indexed (src/events/entities/webhook-event.entity.ts, UNINDEXED_VALUES). Building them reads
 * the table once: on a large table, this migration takes as long as one scan of webhook_events.
 */
export class RareValueIndexes1765497600000 implements MigrationInterface {
  name = 'RareValueIndexes1765497600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX webhook_events_outcome_received_idx`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_outcome_received_idx ON webhook_events (outcome, received_at, event_id)
        WHERE outcome <> 'applied'`,
    );
    await queryRunner.query(`DROP INDEX webhook_events_type_received_idx`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_type_received_idx ON webhook_events (entity_type, received_at, event_id)
        WHERE entity_type <> 'message'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX webhook_events_outcome_received_idx`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_outcome_received_idx ON webhook_events (outcome, received_at, event_id)`,
    );
    await queryRunner.query(`DROP INDEX webhook_events_type_received_idx`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_type_received_idx ON webhook_events (entity_type, received_at, event_id)`,
    );
  }
}
