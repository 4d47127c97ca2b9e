/** How the retention job paces itself. Not environment variables: only RETENTION_DAYS is operator-facing. */
export interface RetentionOptions {
  /** Rows removed per statement (each statement is its own short transaction). */
  batchSize: number;
  /** Shortest pause between two batches, so the storing path always gets the database between them. */
  pauseMs: number;
  /**
   * The pause is also at least this many times as long as the batch took: the job's session is busy
   * at most 1 / (1 + pauseFactor) of the time, and a database slowed by load (slower batches) gets
   * proportionally longer breaks.
   */
  pauseFactor: number;
  /** Wait after the schema is ready before the first pass: start-up work (the backlog) goes first. */
  firstRunDelayMs: number;
  /** Wait after a pass (or after finding another replica at work) before the next one. */
  intervalMs: number;
  /** Wait after a failed pass (database trouble) before trying again. */
  retryDelayMs: number;
}

/** The Nest token of the job's options (RetentionModule binds the defaults; tests may bind others). */
export const RETENTION_OPTIONS = Symbol('RETENTION_OPTIONS');

export const DEFAULT_RETENTION_OPTIONS: RetentionOptions = {
  batchSize: 2000,
  pauseMs: 100,
  pauseFactor: 3,
  firstRunDelayMs: 5000,
  // 30 minutes: "at least hourly" with room for a long pass (the interval counts from its end).
  intervalMs: 30 * 60 * 1000,
  retryDelayMs: 60 * 1000,
};
