import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseService } from '../database/database.service';
import { Metrics } from '../metrics/metrics.service';
import { RetentionJob } from './retention.job';
import type { RetentionOptions } from './retention.options';

const FAST: RetentionOptions = {
  batchSize: 100,
  pauseMs: 0,
  pauseFactor: 0,
  firstRunDelayMs: 0,
  intervalMs: 20,
  retryDelayMs: 20,
};

/** A database that answers the lease and the pass's statements; `locked` says whether the lease is free. */
function fakeDatabase(behaviour: { locked: boolean; fail?: boolean }) {
  const calls: string[] = [];
  const runner = {
    connect: () => Promise.resolve(),
    release: () => (calls.push('release'), Promise.resolve()),
    query: (sql: string) => {
      calls.push(sql.trim().split(/\s+/).slice(0, 2).join(' '));
      if (sql.includes('pg_try_advisory_lock')) return Promise.resolve([{ locked: behaviour.locked }]);
      if (behaviour.fail) return Promise.reject(new Error('connection reset'));
      if (sql.includes('AS cutoff')) return Promise.resolve([{ cutoff: '2026-01-01 00:00:00+00' }]);
      if (sql.includes('pg_advisory_unlock')) return Promise.resolve([{}]);
      return Promise.resolve([{ selected: 0, deleted: 0, last_received_at: null, last_key: null }]);
    },
  };
  const database = { ready: Promise.resolve(), dataSource: { createQueryRunner: () => runner } };
  return { database: database as unknown as DatabaseService, calls };
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 5000; !(await check()); await sleep(5))
    if (Date.now() > deadline) throw new Error('timed out');
}

const metricText = (metrics: Metrics) => metrics.registry.metrics();

describe('RetentionJob', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('with RETENTION_DAYS unset: no metric, no pass, no database work', async () => {
    const metrics = new Metrics();
    const { database, calls } = fakeDatabase({ locked: true });
    const job = new RetentionJob({ days: null }, database, metrics, FAST);
    job.onApplicationBootstrap();
    expect(await job.runPass()).toBeNull();
    await job.beforeApplicationShutdown();
    expect(await metricText(metrics)).not.toContain('webhook_retention_');
    expect(calls).toEqual([]);
  });

  it('runs a first pass once the schema is ready, then on its interval, releasing the lease each time', async () => {
    const metrics = new Metrics();
    const { database, calls } = fakeDatabase({ locked: true });
    const job = new RetentionJob({ days: 7 }, database, metrics, FAST);
    expect(await metricText(metrics)).toContain('webhook_retention_last_success_timestamp_seconds 0');
    job.onApplicationBootstrap();
    await until(() => calls.filter((call) => call === 'release').length >= 2);
    await job.beforeApplicationShutdown();
    const last = (
      await metrics.registry.getSingleMetric('webhook_retention_last_success_timestamp_seconds')!.get()
    ).values[0].value;
    expect(last * 1000).toBeGreaterThan(Date.now() - 5000);
    expect(calls.filter((call) => call.includes('pg_try_advisory_lock')).length).toBe(
      calls.filter((call) => call.includes('pg_advisory_unlock')).length,
    );
  });

  it('leaves the pass to the replica holding the lease', async () => {
    const metrics = new Metrics();
    const { database, calls } = fakeDatabase({ locked: false });
    const job = new RetentionJob({ days: 7 }, database, metrics, FAST);
    expect(await job.runPass()).toBeNull();
    expect(calls).toEqual(['SELECT pg_try_advisory_lock($1,', 'release']);
    expect(await metricText(metrics)).toContain('webhook_retention_last_success_timestamp_seconds 0');
  });

  it('tries again after a failed pass, and stops at shutdown', async () => {
    const { database, calls } = fakeDatabase({ locked: true, fail: true });
    const job = new RetentionJob({ days: 7 }, database, new Metrics(), FAST);
    await expect(job.runPass()).rejects.toThrow('connection reset');
    job.onApplicationBootstrap();
    await until(() => calls.filter((call) => call.includes('pg_try_advisory_lock')).length >= 3);
    await job.beforeApplicationShutdown();
    // The loop has ended (shutdown awaited it) and no pass starts any more.
    const attempts = calls.length;
    expect(await job.runPass()).toBeNull();
    expect(calls.length).toBe(attempts);
  });
});
