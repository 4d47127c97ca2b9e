import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** One HTTP destination's state, shared by every replica (mirrors the migration). */
@Entity({ name: 'destination_state' })
@Check('destination_state_state_check', `state IN ('active', 'paused', 'disabled')`)
export class DestinationStateRow {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ type: 'text', default: 'active' })
  state: string;

  @Column({ name: 'consecutive_failures', type: 'integer', default: 0 })
  consecutiveFailures: number;

  @Column({ name: 'circuit_open_until', type: 'timestamptz', nullable: true })
  circuitOpenUntil: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'last_error_at', type: 'timestamptz', nullable: true })
  lastErrorAt: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
