/**
 * The consumer's prefetch, bounded by bytes as well as by count. RabbitMQ ignores basic.qos'
 * prefetch_size, so the count is derived from the bytes per delivery seen so far: a backlog of
 * 500-event deliveries (about 350 KB each) at a prefetch of 100 would hold 35 MB unacknowledged.
 * A new count takes effect only for a new consumer on the channel (basic.qos then basic.consume),
 * so it is worth changing only when it moves materially: by half or more either way.
 */
export class PrefetchBound {
  /** Until a size is seen, deliveries are assumed this large: a start that a backlog of big ones cannot swamp. */
  static readonly ASSUMED_BYTES = 256 * 1024;
  /** Weight of each new delivery in the running mean of bytes per delivery. */
  private static readonly WEIGHT = 0.1;
  /** A count this far (as a factor) from the one in force is worth a new consumer. */
  private static readonly MATERIAL = 1.5;

  private meanBytes = PrefetchBound.ASSUMED_BYTES;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Counts one delivery of `bytes`. */
  observe(bytes: number): void {
    this.meanBytes += (Math.max(bytes, 1) - this.meanBytes) * PrefetchBound.WEIGHT;
  }

  /** The count that keeps about `maxBytes` in flight at the mean size seen, within 1..maxCount. */
  get count(): number {
    return Math.max(1, Math.min(this.maxCount, Math.floor(this.maxBytes / this.meanBytes)));
  }

  /** Whether `count` differs enough from `current`, the count in force, to re-issue the prefetch. */
  worthChanging(current: number): boolean {
    const next = this.count;
    return next !== current && Math.max(next, current) / Math.min(next, current) >= PrefetchBound.MATERIAL;
  }
}
