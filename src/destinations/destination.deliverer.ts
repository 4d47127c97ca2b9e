import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../common/backoff';
import { DestinationsConfig } from '../config/config.slices';
import { DatabaseService } from '../database/database.service';
import { DestinationSignal } from './destination.fan-out';
import { DestinationMetrics } from './destination.metrics';
import type { AttemptResult } from './destination.request';
import { DestinationSender } from './destination.sender';
import { deleteOwed, readDue, retryOwed, type DueRow, type RowKey } from './destination.statements';
import {
  FRESH_STATE,
  noteFailure,
  noteSuccess,
  readStates,
  type DestinationState,
} from './destination-state.statements';
import { Destinations } from './destinations';
import type { Destination } from './destinations-file';
import { DestinationsLease } from './destinations.lease';

/** How often the holder looks for due rows when nothing woke it (a commit elsewhere, a retry coming due). */
const POLL_MS = 250;
/** How often a standby asks for the lease: the takeover delay after the holder dies. */
const STANDBY_POLL_MS = 1000;
/** Failures in a row after which a destination is only probed, one request at a time. */
export const CIRCUIT_AFTER = 5;
const MAX_DELAY_MS = 3_600_000;
const JITTER = 0.2;
/** A held event (disabled destination) is never given up for its age: it waits for an operator. */
const HELD_AGE_HOURS = 1_000_000;

/**
 * Sends what destination_events owes, from the replica holding DestinationsLease (the others stand
 * by and take over within about STANDBY_POLL_MS). Per destination: at most maxInFlight requests at
 * once; with ordering `entity`, one event per entity at a time, in storage order (readDue); a
 * delivered row is deleted; a failure is retried with back-off (Retry-After on 429/503) until
 * maxAgeHours, then kept as failed; 410 disables the destination; after CIRCUIT_AFTER failures in
 * a row the circuit opens and one probe at a time goes out at the back-off interval.
 */
@Injectable()
export class DestinationDeliverer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DestinationDeliverer');
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  /** Rows being sent now, per destination, by `position:item`. */
  private readonly inFlight = new Map<string, Map<string, RowKey>>();
  private readonly requests = new Set<Promise<void>>();
  /** Delivered rows not deleted yet: one DELETE per destination and round, not one per request. */
  private delivered: { name: string; id: string; key: RowKey }[] = [];
  private states = new Map<string, DestinationState>();
  private leading = false;
  private lastFailure: string | null = null;

  constructor(
    private readonly config: DestinationsConfig,
    private readonly destinations: Destinations,
    private readonly database: DatabaseService,
    private readonly sender: DestinationSender,
    private readonly signal: DestinationSignal,
    private readonly metrics: DestinationMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.destinations.configured) return;
    const stopped = new Promise<void>((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve()),
    );
    this.running = Promise.race([this.database.ready, stopped]).then(async () => {
      if (!this.stop.signal.aborted) await this.deliver();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop.abort();
    this.signal.notify();
    await this.running;
    // Requests under way finish (each bounded by its timeoutMs) and their results are written.
    await Promise.allSettled([...this.requests]);
  }

  private async deliver(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let lease: DestinationsLease | null = null;
      let failed = false;
      try {
        lease = await DestinationsLease.acquire(this.database.dataSource);
        if (lease) {
          this.lastFailure = null;
          await this.lead(lease);
        }
      } catch (err) {
        failed = true;
        // Once per cause, not once a second for as long as PostgreSQL is away.
        const message = (err as Error).message;
        if (message !== this.lastFailure)
          this.logger.warn(`sending to destinations failed, trying again every second: ${message}`);
        this.lastFailure = message;
      } finally {
        this.setLeading(false);
        if (lease) {
          // Results of requests under way are written through the lease's connection: let them land.
          await Promise.allSettled([...this.requests]);
          await this.flushDelivered(lease).catch(() => undefined);
          await lease.release();
        }
      }
      if (!lease || failed) await this.pause(failed ? 1000 : STANDBY_POLL_MS);
    }
  }

  private async lead(lease: DestinationsLease): Promise<void> {
    this.setLeading(true);
    while (!this.stop.signal.aborted) {
      await this.flushDelivered(lease);
      // Every round: a pause or a disable is seen before the next request goes out.
      this.states = await readStates(lease);
      for (const destination of this.destinations.all) await this.fill(lease, destination);
      await this.signal.wait(POLL_MS);
    }
  }

  private setLeading(leading: boolean): void {
    if (leading !== this.leading) this.logger.log(leading ? 'sending to destinations' : 'standing by');
    this.leading = leading;
    this.metrics.active.set(leading ? 1 : 0);
  }

  /** Starts as many due rows of `destination` as it may have in flight now. */
  private async fill(lease: DestinationsLease, destination: Destination): Promise<void> {
    const state = this.states.get(destination.name) ?? FRESH_STATE;
    if (state.state !== 'active') return;
    const circuitOpen = state.consecutiveFailures >= CIRCUIT_AFTER;
    if (circuitOpen && state.circuitWaiting) return;
    const flying = this.flying(destination.name);
    const free = (circuitOpen ? 1 : destination.maxInFlight) - flying.size;
    if (free <= 0) return;
    const due = await readDue(lease, destination.name, destination.ordering === 'entity', free, [
      ...flying.values(),
    ]);
    for (const row of due) {
      const id = `${row.position}:${row.item}`;
      flying.set(id, { position: row.position, item: row.item });
      const key = { position: row.position, item: row.item };
      const request = this.attempt(lease, destination, row)
        .then((done) => {
          // A delivered row stays in flight until its DELETE, so it is not read as due meanwhile.
          if (done) this.delivered.push({ name: destination.name, id, key });
          else flying.delete(id);
        })
        .catch((err: Error) => {
          flying.delete(id);
          // The row stays pending: sent again later (at least once), by this replica or the next holder.
          this.logger.warn(`destination ${destination.name}: result not recorded: ${err.message}`);
        })
        .finally(() => {
          this.requests.delete(request);
          this.signal.notify();
        });
      this.requests.add(request);
    }
  }

  /** Sends one row and records a failure; true when nothing is owed any more (to be deleted). */
  private async attempt(lease: DestinationsLease, destination: Destination, row: DueRow): Promise<boolean> {
    const runner = lease;
    const name = destination.name;
    // Retention removed the event before it could be sent: nothing is left to send.
    if (row.event === null) return true;
    const result = await this.sender.send(destination, row.event);
    if (result.kind === 'delivered') {
      this.metrics.delivered.inc({ destination: name });
      const state = this.states.get(name);
      if (state && (state.consecutiveFailures > 0 || state.circuitOpenUntil !== null)) {
        await noteSuccess(runner, name);
        this.states.set(name, {
          ...state,
          consecutiveFailures: 0,
          circuitOpenUntil: null,
          circuitWaiting: false,
        });
      }
      return true;
    }
    const error = errorOf(result);
    const gone = result.kind === 'gone';
    const delayMs = gone ? 0 : this.delayOf(result, row.attempts);
    const maxAge = gone ? HELD_AGE_HOURS : destination.maxAgeHours;
    if ((await retryOwed(runner, name, row, delayMs, maxAge, error)) === 'failed') {
      this.metrics.failed.inc({ destination: name });
      this.logger.warn(
        `destination ${name}: event ${row.event.eventId} given up after ${maxAge} h: ${error}`,
      );
    }
    const state = await noteFailure(
      runner,
      name,
      error,
      CIRCUIT_AFTER,
      (n) => this.backoff(n - CIRCUIT_AFTER),
      gone,
    );
    this.states.set(name, state);
    if (gone)
      this.logger.warn(`destination ${name} disabled: it answered 410 Gone; events are held until enabled`);
    return false;
  }

  /** Deletes the delivered rows, one statement per destination; they leave the in-flight sets after it. */
  private async flushDelivered(lease: DestinationsLease): Promise<void> {
    const batch = this.delivered;
    if (batch.length === 0) return;
    this.delivered = [];
    try {
      for (const name of new Set(batch.map((entry) => entry.name))) {
        await deleteOwed(
          lease,
          name,
          batch.filter((entry) => entry.name === name).map((entry) => entry.key),
        );
      }
    } finally {
      // Deleted, or not (the lease is lost): either way no longer this process's to hold.
      for (const entry of batch) this.inFlight.get(entry.name)?.delete(entry.id);
    }
  }

  private delayOf(result: AttemptResult, attempts: number): number {
    if (result.kind === 'throttled' && result.retryAfterMs !== null) return result.retryAfterMs;
    return this.backoff(attempts);
  }

  /** From DESTINATIONS_RETRY_BASE_MS (5 s), doubling, at most an hour; spread upwards so replicas and entities do not retry in step. */
  private backoff(attempt: number): number {
    const baseMs = this.config.retryBaseMs;
    return Math.max(baseMs, backoffDelay(attempt, { baseMs, maxMs: MAX_DELAY_MS, jitter: JITTER }));
  }

  private flying(name: string): Map<string, RowKey> {
    let flying = this.inFlight.get(name);
    if (!flying) this.inFlight.set(name, (flying = new Map<string, RowKey>()));
    return flying;
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

function errorOf(result: Exclude<AttemptResult, { kind: 'delivered' }>): string {
  if (result.kind === 'failed') return result.error;
  if (result.kind === 'gone') return 'HTTP 410 (gone: disabled until enabled)';
  return `HTTP ${result.status}${result.retryAfterMs === null ? '' : ` (Retry-After ${result.retryAfterMs / 1000} s)`}`;
}
