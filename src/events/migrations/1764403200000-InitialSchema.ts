import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764403200000 implements MigrationInterface {
  name = 'InitialSchema1764403200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_events (
        event_id        text PRIMARY KEY,
        name            text NOT NULL,
        account_id      bigint,
        api_space_id    text,
        entity_type     text NOT NULL,
        entity_id       text,
        revision        bigint,
        etag            text,
        event_timestamp timestamptz,
        outcome         text NOT NULL CONSTRAINT webhook_events_outcome_check
                          CHECK (outcome IN ('applied', 'stale', 'untracked')),
        payload         jsonb NOT NULL,
        received_at     timestamptz NOT NULL,
        delivery_id     text NOT NULL,
        stored_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX webhook_events_entity_idx ON webhook_events (api_space_id, entity_type, entity_id, revision)`,
    );
    await queryRunner.query(
      `CREATE INDEX webhook_events_name_time_idx ON webhook_events (name, event_timestamp)`,
    );
    await queryRunner.query(`CREATE INDEX webhook_events_delivery_idx ON webhook_events (delivery_id)`);

    await queryRunner.query(`
      CREATE TABLE entity_revisions (
        api_space_id    text NOT NULL,
        entity_type     text NOT NULL,
        entity_id       text NOT NULL,
        revision        bigint NOT NULL,
        event_id        text NOT NULL,
        event_name      text NOT NULL,
        event_timestamp timestamptz,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (api_space_id, entity_type, entity_id)
      )`);

    await queryRunner.query(`
      CREATE TABLE quarantined_deliveries (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at timestamptz NOT NULL,
        reason      text NOT NULL,
        body        bytea NOT NULL,
        item_index  integer,
        delivery_id text NOT NULL
      )`);
    // A redelivered delivery must not be quarantined twice.
    await queryRunner.query(
      `CREATE UNIQUE INDEX quarantined_deliveries_item_uq ON quarantined_deliveries (delivery_id, coalesce(item_index, -1))`,
    );
    await queryRunner.query(
      `CREATE INDEX quarantined_deliveries_received_idx ON quarantined_deliveries (received_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE quarantined_deliveries`);
    await queryRunner.query(`DROP TABLE entity_revisions`);
    await queryRunner.query(`DROP TABLE webhook_events`);
  }
}
