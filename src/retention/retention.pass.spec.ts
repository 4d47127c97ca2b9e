import { setTimeout as sleep } from 'node:timers/promises';
import { runRetentionPass } from './retention.pass';
import type { RetentionTable, SqlRunner } from './retention.statements';

/**
 * A stand-in for PostgreSQL that answers the pass's two statements from per-table row counts, so
 * the batching rules can be checked without a database (test/retention.e2e-spec.ts runs them on one).
 */
class FakeTables implements SqlRunner {
  readonly statements: string[] = [];
  onBatch: () => void = () => undefined;
  /** How long each DELETE takes. */
  batchMs = 0;

  constructor(private readonly remaining: Record<RetentionTable, number>) {}

  query(sql: string, parameters: unknown[] = []): Promise<unknown> {
    if (sql.includes('AS cutoff')) return Promise.resolve([{ cutoff: '2026-01-01 00:00:00+00' }]);
    const table = (['webhook_events', 'quarantined_deliveries', 'webhook_deliveries'] as const).find((t) =>
      sql.includes(`FROM ${t}`),
    )!;
    const limit = parameters[1] as number;
    const taken = Math.min(limit, this.remaining[table]);
    this.remaining[table] -= taken;
    this.statements.push(`${table}:${taken}:${parameters.length > 2 ? 'after' : 'first'}`);
    this.onBatch();
    return sleep(this.batchMs).then(() => [
      {
        selected: taken,
        deleted: taken,
        last_received_at: taken ? '2025-12-01 00:00:00+00' : null,
        last_key: taken ? String(this.remaining[table]) : null,
      },
    ]);
  }
}

describe('runRetentionPass', () => {
  it('takes each table in batches of at most batchSize, resuming after the last key', async () => {
    const runner = new FakeTables({ webhook_events: 5, quarantined_deliveries: 2, webhook_deliveries: 1 });
    const seen: string[] = [];
    const result = await runRetentionPass({
      runner,
      days: 7,
      options: { batchSize: 2, pauseMs: 0, pauseFactor: 0 },
      signal: new AbortController().signal,
      onDeleted: (table, rows) => seen.push(`${table}:${rows}`),
    });
    expect(runner.statements).toEqual([
      'webhook_events:2:first',
      'webhook_events:2:after',
      'webhook_events:1:after', // fewer than a batch: done
      'quarantined_deliveries:2:first',
      'quarantined_deliveries:0:after', // a full batch may have been the last: one more look
      'webhook_deliveries:1:first',
    ]);
    expect(seen).toEqual([
      'webhook_events:2',
      'webhook_events:2',
      'webhook_events:1',
      'quarantined_deliveries:2',
      'webhook_deliveries:1',
    ]);
    expect(result).toMatchObject({
      cutoff: '2026-01-01 00:00:00+00',
      deleted: { webhook_events: 5, quarantined_deliveries: 2, webhook_deliveries: 1 },
      batches: 6,
      completed: true,
    });
  });

  it('stops between two batches once aborted, and says the pass did not complete', async () => {
    const runner = new FakeTables({ webhook_events: 10, quarantined_deliveries: 10, webhook_deliveries: 10 });
    const stop = new AbortController();
    runner.onBatch = () => stop.abort(); // shutdown arrives while the first batch runs
    const result = await runRetentionPass({
      runner,
      days: 7,
      options: { batchSize: 3, pauseMs: 60000, pauseFactor: 0 },
      signal: stop.signal,
    });
    expect(runner.statements).toEqual(['webhook_events:3:first']);
    expect(result).toMatchObject({
      deleted: { webhook_events: 3, quarantined_deliveries: 0, webhook_deliveries: 0 },
      completed: false,
    });
  });

  it('pauses at least pauseFactor times as long as a batch took: a slower database gets longer breaks', async () => {
    const runner = new FakeTables({ webhook_events: 4, quarantined_deliveries: 0, webhook_deliveries: 0 });
    runner.batchMs = 40;
    const started = Date.now();
    const result = await runRetentionPass({
      runner,
      days: 7,
      options: { batchSize: 2, pauseMs: 0, pauseFactor: 2 },
      signal: new AbortController().signal,
    });
    // 5 batches of 40 ms (2 full ones of webhook_events, its empty last look, one each for quarantine
    // and deliveries) and a pause of >= 80 ms after each full batch.
    expect(result.batches).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 40 + 2 * 80 - 5);
  });
});
