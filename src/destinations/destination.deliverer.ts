import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../common/backoff';
import { DestinationsConfig } from '../config/config.slices';
import { DatabaseService } from '../database/database.service';
import { DestinationSignal } from './destination.fan-out';
import { DestinationMetrics } from './destination.metrics';
import type { AttemptResult } from './destination.request';
import { DestinationSender } from './destination.sender';
import { DestinationLane } from './destination.lane';
import { deleteOwed, readDue, retryOwed, type DueRow } from './destination.statements';
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
/**
 * The shortest time between two rounds. Under load, requests end hundreds of times a second and
 * each wakes the loop: a round then deletes and reads for all of them at once.
 */
const ROUND_MS = 10;
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
 * by and take over within about STANDBY_POLL_MS). Each round (at most one per ROUND_MS, sooner
 * when a destination's answered rows hold back its requests) deletes the rows delivered since the last, reads every destination's state (a pause or a disable is seen
 * within a round) and tops up each destination's read-ahead (DestinationLane); between rounds a
 * request that ends starts the next row at once. Per destination: at most maxInFlight requests at
 * once; with ordering `entity`, one event per entity at a time, in storage order (readDue); a
 * failure is retried with back-off (Retry-After on 429/503) until maxAgeHours, then kept as failed;
 * 410 disables the destination; after CIRCUIT_AFTER failures in a row the circuit opens and one
 * probe at a time goes out at the back-off interval.
 */
@Injectable()
export class DestinationDeliverer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DestinationDeliverer');
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  /** The lease held now (null while standing by): requests start only under it. */
  private lease: DestinationsLease | null = null;
  private readonly lanes = new Map<string, DestinationLane>();
  private readonly requests = new Set<Promise<void>>();
  private states = new Map<string, DestinationState>();
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
        this.setLease(null);
        if (lease) {
          // Results of requests under way are written through the lease's connection: let them land.
          await Promise.allSettled([...this.requests]);
          await this.flushDelivered(lease).catch(() => undefined);
          await lease.release();
        }
        this.lanes.clear();
      }
      if (!lease || failed) await this.pause(failed ? 1000 : STANDBY_POLL_MS);
    }
  }

  private async lead(lease: DestinationsLease): Promise<void> {
    this.setLease(lease);
    let roundAt = 0;
    while (!this.stop.signal.aborted) {
      // Rounds ROUND_MS apart, unless a destination waits for the DELETE of its answered rows.
      for (let early = roundAt + ROUND_MS - Date.now(); early > 0; early = roundAt + ROUND_MS - Date.now()) {
        if (this.stop.signal.aborted || this.mustDelete()) break;
        await this.signal.wait(early);
      }
      roundAt = Date.now();
      await this.flushDelivered(lease);
      this.states = await readStates(lease);
      const inForce = new Set<string>();
      for (const destination of this.destinations.all) {
        inForce.add(destination.name);
        await this.fill(lease, destination);
      }
      // A destination removed from the file: what it was sending ends; nothing more starts.
      for (const [name, lane] of this.lanes) if (!inForce.has(name)) lane.dropBuffer();
      await this.signal.wait(POLL_MS);
    }
  }

  private setLease(lease: DestinationsLease | null): void {
    const leading = lease !== null;
    if (leading !== (this.lease !== null))
      this.logger.log(leading ? 'sending to destinations' : 'standing by');
    this.lease = lease;
    this.metrics.active.set(leading ? 1 : 0);
  }

  /** Tops up the destination's read-ahead and starts what its slots allow. */
  private async fill(lease: DestinationsLease, destination: Destination): Promise<void> {
    const lane = this.lanes.get(destination.name) ?? new DestinationLane(destination);
    lane.destination = destination; // a reload may have changed it
    this.lanes.set(destination.name, lane);
    const capacity = this.capacityOf(destination);
    if (capacity === 0) {
      lane.dropBuffer();
      return;
    }
    const wanted = lane.wanted(capacity);
    if (wanted > 0) {
      lane.add(
        await readDue(lease, destination.name, destination.ordering === 'entity', wanted, lane.heldKeys()),
      );
    }
    this.pump(lease, lane);
  }

  private mustDelete(): boolean {
    for (const lane of this.lanes.values())
      if (lane.mustDelete(this.capacityOf(lane.destination))) return true;
    return false;
  }

  /** Requests the destination may have in flight now: none unless active, one probe while its circuit is open. */
  private capacityOf(destination: Destination): number {
    const state = this.states.get(destination.name) ?? FRESH_STATE;
    if (state.state !== 'active') return 0;
    if (state.consecutiveFailures >= CIRCUIT_AFTER) return state.circuitWaiting ? 0 : 1;
    return destination.maxInFlight;
  }

  /** Starts buffered rows into free slots; each request that ends starts the next one itself. */
  private pump(lease: DestinationsLease, lane: DestinationLane): void {
    for (;;) {
      if (this.lease !== lease || this.stop.signal.aborted) return;
      const row = lane.next(this.capacityOf(lane.destination));
      if (!row) return;
      const { destination } = lane;
      const request = this.attempt(lease, destination, row)
        .then((done) => lane.ended(row, done))
        .catch((err: Error) => {
          lane.ended(row, false);
          // The row stays pending: sent again later (at least once), by this replica or the next holder.
          this.logger.warn(`destination ${destination.name}: result not recorded: ${err.message}`);
        })
        .finally(() => {
          this.requests.delete(request);
          this.pump(lease, lane);
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

  /** Deletes the delivered rows, one statement per destination; they stop being held after it. */
  private async flushDelivered(lease: DestinationsLease): Promise<void> {
    for (const lane of this.lanes.values()) {
      const keys = lane.takeDelivered();
      if (keys.length === 0) continue;
      try {
        await deleteOwed(lease, lane.destination.name, keys);
      } finally {
        // Deleted, or not (the lease is lost): either way no longer this process's to hold.
        lane.release(keys);
      }
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

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}

function errorOf(result: Exclude<AttemptResult, { kind: 'delivered' }>): string {
  if (result.kind === 'failed') return result.error;
  if (result.kind === 'gone') return 'HTTP 410 (gone: disabled until enabled)';
  return `HTTP ${result.status}${result.retryAfterMs === null ? '' : ` (Retry-After ${result.retryAfterMs / 1000} s)`}`;
}
