import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A quarantined item an operator decided needs no replay is marked resolved, with the reason. Two
 * nullable columns without a default: instant on a large table.
 */
export class QuarantineResolution1765324800000 implements MigrationInterface {
  name = 'QuarantineResolution1765324800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE quarantined_deliveries ADD COLUMN resolved_at timestamptz, ADD COLUMN resolved_reason text`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE quarantined_deliveries DROP COLUMN resolved_at, DROP COLUMN resolved_reason`,
    );
  }
}
