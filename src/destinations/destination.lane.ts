import type { Destination } from './destinations-file';
import type { DueRow, RowKey } from './destination.statements';

/** Rows read ahead per destination: this many waves of its in-flight slots. */
const READ_AHEAD_WAVES = 8;
/** Answered rows that may wait for their DELETE before no further request starts: waves of slots. */
export const UNDELETED_WAVES = 4;

/**
 * One destination's rows in this process while it holds the lease: read ahead (due, in storage
 * order), being sent, and delivered but not deleted yet. Every one of them is held: the next read
 * leaves them out. A request that ends starts the next buffered row at once, so the destination's
 * slots stay busy between the deliverer's rounds, and each round reads and deletes in bulk: a
 * statement for many requests, not several for each.
 *
 * With ordering by entity the read-ahead keeps storage order: a row is read only when no older row
 * of its entity is pending in the table, and a row being sent or delivered-not-deleted is still
 * pending there, so an entity's next event is read only after its predecessor's DELETE.
 */
export class DestinationLane {
  private buffer: DueRow[] = [];
  private readonly held = new Map<string, RowKey>();
  private delivered: RowKey[] = [];
  private sending = 0;

  constructor(public destination: Destination) {}

  /** The rows the next read must leave out. */
  heldKeys(): RowKey[] {
    return [...this.held.values()];
  }

  /**
   * How many rows to read for `capacity` slots: none while at least a wave is still buffered, else
   * up to READ_AHEAD_WAVES waves (one read serves many rounds of requests).
   */
  wanted(capacity: number): number {
    if (capacity <= 0 || this.buffer.length >= capacity) return 0;
    return capacity * READ_AHEAD_WAVES - this.buffer.length;
  }

  add(rows: readonly DueRow[]): void {
    for (const row of rows) {
      this.held.set(keyOf(row), { position: row.position, item: row.item });
      this.buffer.push(row);
    }
  }

  /**
   * The next buffered row to send, while fewer than `capacity` are being sent and fewer than
   * UNDELETED_WAVES × `capacity` answered rows wait for their DELETE (the deliverer asks for the
   * DELETE from one `capacity` on: mustDelete). So rows sent and not yet deleted stay under
   * (UNDELETED_WAVES + 1) × `capacity`: what a holder that dies can send twice.
   */
  next(capacity: number): DueRow | undefined {
    if (
      this.sending >= capacity ||
      this.delivered.length >= UNDELETED_WAVES * capacity ||
      this.buffer.length === 0
    )
      return undefined;
    this.sending++;
    return this.buffer.shift();
  }

  /**
   * A request ended. Delivered: its row stays held until the round's DELETE. Otherwise it leaves the
   * lane: the table says when it is due again (retried, failed, or the result was not recorded).
   */
  ended(row: DueRow, delivered: boolean): void {
    this.sending--;
    if (delivered) this.delivered.push({ position: row.position, item: row.item });
    else this.held.delete(keyOf(row));
  }

  /** Whether a wave of answered rows waits for its DELETE: the next round should not wait. */
  mustDelete(capacity: number): boolean {
    return this.delivered.length > 0 && this.delivered.length >= capacity;
  }

  /** The delivered rows to delete now; pass them to release() after the DELETE (or its failure). */
  takeDelivered(): RowKey[] {
    const delivered = this.delivered;
    this.delivered = [];
    return delivered;
  }

  release(keys: readonly RowKey[]): void {
    for (const key of keys) this.held.delete(keyOf(key));
  }

  /** Paused, disabled, its circuit waiting, or removed: rows never sent go back to the table. */
  dropBuffer(): void {
    for (const row of this.buffer) this.held.delete(keyOf(row));
    this.buffer = [];
  }
}

function keyOf(key: RowKey): string {
  return `${key.position}:${key.item}`;
}
