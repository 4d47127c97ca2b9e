import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { RetentionConfig } from '../config/config.slices';
import { DatabaseService } from '../database/database.service';
import { Metrics } from '../metrics/metrics.service';
import { SessionLease } from '../database/session-lease';
import { RetentionMetrics } from './retention.metrics';
import { RETENTION_OPTIONS, type RetentionOptions } from './retention.options';
import { runRetentionPass, type PassResult } from './retention.pass';

/**
 * Removes webhook_events, quarantined_deliveries and webhook_deliveries rows received more than RETENTION_DAYS ago:
 * soon after the schema is ready, then every `intervalMs`, in small batches that never hold a lock
 * long (see retention.statements.ts). One replica works at a time (SessionLease 'retention'); the others find
 * the lock taken and wait for their next turn. entity_revisions is never touched: every entity keeps
 * its latest state. Rows younger than the cutoff stay, so a repeated eventId within RETENTION_DAYS
 * is still recognised as a duplicate. With RETENTION_DAYS unset nothing runs and no metric exists.
 */
/**
 * A pass rests between batches at least three times as long as each took (retention.options.ts), its
 * session idle meanwhile: the lease's idle-session limit leaves room for a batch slowed to minutes.
 */
const RETENTION_IDLE_SESSION_TIMEOUT_MS = 10 * 60 * 1000;

@Injectable()
export class RetentionJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private readonly stop = new AbortController();
  private readonly metrics: RetentionMetrics | null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly config: RetentionConfig,
    private readonly database: DatabaseService,
    { registry }: Metrics,
    @Inject(RETENTION_OPTIONS) private readonly options: RetentionOptions,
  ) {
    this.metrics = config.days === null ? null : new RetentionMetrics(registry);
  }

  get enabled(): boolean {
    return this.config.days !== null;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    const stopped = new Promise<void>((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve()),
    );
    this.running = Promise.race([this.database.ready, stopped]).then(() => this.schedule());
  }

  /** Before the database closes: a batch in flight finishes, no further one starts. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  /**
   * One pass now, if this replica gets the lease: its result, or null when another replica holds
   * the lease (or retention is off). Rejects on database trouble.
   */
  async runPass(): Promise<PassResult | null> {
    const days = this.config.days;
    if (days === null || this.stop.signal.aborted) return null;
    const lease = await SessionLease.acquire(
      this.database.dataSource,
      'retention',
      RETENTION_IDLE_SESSION_TIMEOUT_MS,
    );
    if (!lease) return null;
    try {
      const result = await runRetentionPass({
        runner: lease.runner,
        days,
        options: this.options,
        signal: this.stop.signal,
        onDeleted: (table, rows) => this.metrics?.deleted.inc({ table }, rows),
      });
      if (result.completed) this.metrics?.lastSuccess.set(Date.now() / 1000);
      this.report(days, result);
      return result;
    } finally {
      await lease.release();
    }
  }

  private async schedule(): Promise<void> {
    let delay = this.options.firstRunDelayMs;
    while (await this.pause(delay)) {
      try {
        const result = await this.runPass();
        if (result === null) this.logger.debug('retention: another replica runs this pass');
        delay = this.options.intervalMs;
      } catch (err) {
        this.logger.warn(
          `retention pass failed: ${(err as Error).message}; next try in ${this.options.retryDelayMs} ms`,
        );
        delay = this.options.retryDelayMs;
      }
    }
  }

  /** One line per pass: what went, from which table, how long it took. */
  private report(days: number, result: PassResult): void {
    const {
      webhook_events: events,
      quarantined_deliveries: quarantine,
      webhook_deliveries: deliveries,
    } = result.deleted;
    const line =
      `retention pass ${result.completed ? 'done' : 'stopped by shutdown'}: removed ${events} ` +
      `webhook_events, ${quarantine} quarantined_deliveries and ${deliveries} webhook_deliveries rows received before ${result.cutoff} ` +
      `(${days} days) in ${(result.durationMs / 1000).toFixed(1)} s, ${result.batches} batches`;
    this.logger.log(line);
  }

  /** False once stopped. */
  private async pause(ms: number): Promise<boolean> {
    await sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
    return !this.stop.signal.aborted;
  }
}
