import { setTimeout as sleep } from 'node:timers/promises';
import type { RetentionOptions } from './retention.options';
import {
  RETENTION_TABLES,
  cutoffOf,
  deleteBatch,
  type BatchPosition,
  type RetentionTable,
  type SqlRunner,
} from './retention.statements';

export interface PassResult {
  /** The database time rows had to be received before to be removed. */
  cutoff: string;
  deleted: Record<RetentionTable, number>;
  batches: number;
  durationMs: number;
  /** False when the pass was stopped (shutdown) between two batches. */
  completed: boolean;
}

export interface PassContext {
  runner: SqlRunner;
  days: number;
  options: Pick<RetentionOptions, 'batchSize' | 'pauseMs' | 'pauseFactor'>;
  /** Aborted on shutdown: the pass stops between batches (a batch in flight finishes). */
  signal: AbortSignal;
  /** Called after every batch, so metrics move while a long pass runs. */
  onDeleted?: (table: RetentionTable, rows: number) => void;
}

/**
 * One retention pass: for each table, batches of at most `batchSize` rows received before the
 * cutoff (taken once, at the start, so rows received meanwhile are never candidates), a pause
 * between two batches (at least `pauseFactor` times the batch's own time), until a batch finds fewer
 * rows than it may take.
 */
export async function runRetentionPass(context: PassContext): Promise<PassResult> {
  const { runner, options, signal } = context;
  const started = Date.now();
  const cutoff = await cutoffOf(runner, context.days);
  const result: PassResult = {
    cutoff,
    deleted: { webhook_events: 0, quarantined_deliveries: 0, webhook_deliveries: 0 },
    batches: 0,
    durationMs: 0,
    completed: false,
  };
  const pause = (batchMs: number) =>
    sleep(Math.max(options.pauseMs, batchMs * options.pauseFactor), undefined, { signal }).catch(
      () => undefined,
    );
  for (const table of RETENTION_TABLES) {
    let after: BatchPosition | null = null;
    for (;;) {
      if (signal.aborted) return finish(result, started, false);
      const batchStarted = Date.now();
      const batch = await deleteBatch(runner, table, cutoff, after, options.batchSize);
      result.batches++;
      result.deleted[table] += batch.deleted;
      if (batch.deleted > 0) context.onDeleted?.(table, batch.deleted);
      if (batch.selected < options.batchSize || batch.last === null) break;
      after = batch.last;
      await pause(Date.now() - batchStarted);
    }
  }
  return finish(result, started, true);
}

function finish(result: PassResult, started: number, completed: boolean): PassResult {
  result.durationMs = Date.now() - started;
  result.completed = completed;
  return result;
}
