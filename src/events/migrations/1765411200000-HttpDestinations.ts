import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * HTTP destinations: what each destination is owed, and each destination's own state. Both are
 * written by one replica at a time (the relay's fan-out, the deliverer) and read by every replica.
 */
export class HttpDestinations1765411200000 implements MigrationInterface {
  name = 'HttpDestinations1765411200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One row per (destination, event) owed: filled by the relay in the transaction that deletes
    // the outbox entry, deleted once delivered. (position, item) is the event's place in the outbox:
    // storage order. entity_key orders one entity's events; null (no entity id) waits for nothing.
    await queryRunner.query(`
      CREATE TABLE destination_events (
        destination     text NOT NULL,
        position        bigint NOT NULL,
        item            integer NOT NULL,
        event_id        text NOT NULL,
        entity_key      text,
        state           text NOT NULL DEFAULT 'pending' CONSTRAINT destination_events_state_check
                          CHECK (state IN ('pending', 'failed')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (destination, position, item)
      )`);
    // "Is an older event of this entity still owed?", asked for each candidate of the deliverer's
    // walk. entity_key leads, so this index cannot serve the walk itself: the walk must go down the
    // primary key in order and stop at its LIMIT. Offered an index led by the destination, the
    // planner sorts every pending row of it whenever its statistics lag a fast-growing table.
    await queryRunner.query(
      `CREATE INDEX destination_events_entity_idx ON destination_events (entity_key, destination, state, position, item)`,
    );
    await queryRunner.query(
      `CREATE INDEX destination_events_failed_idx ON destination_events (destination, position, item)
        WHERE state = 'failed'`,
    );

    // A destination's state survives restarts and is the same on every replica.
    await queryRunner.query(`
      CREATE TABLE destination_state (
        name                 text PRIMARY KEY,
        state                text NOT NULL DEFAULT 'active' CONSTRAINT destination_state_state_check
                               CHECK (state IN ('active', 'paused', 'disabled')),
        consecutive_failures integer NOT NULL DEFAULT 0,
        circuit_open_until   timestamptz,
        last_error           text,
        last_error_at        timestamptz,
        updated_at           timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE destination_state`);
    await queryRunner.query(`DROP TABLE destination_events`);
  }
}
