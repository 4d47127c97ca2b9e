import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { FeedConfig } from '../config/config.slices';
import { DatabaseService } from '../database/database.service';
import { HealthRegistry } from '../health/health.registry';
import { OutboundPublisher } from '../messaging/outbound.publisher';
import { feedMessageOf, type StoredEvent } from './feed.message';
import { FeedMetrics } from './feed.metrics';
import { FeedSignal } from '../events/feed.signal';
import { FeedOutbox, type OutboxEntry } from '../events/feed-outbox';
import { readEvents } from './stored-events';
import { SessionLease } from '../database/session-lease';
import { traceFeedRound } from '../tracing/tracing.spans';
import type { OutgoingMessage } from '../messaging/confirmed-publish';
import { DestinationFanOut } from '../destinations/destination.fan-out';

/** Events published per round, then confirmed together before their outbox entries are deleted. */
const MAX_EVENTS_PER_ROUND = 2000;
/** How long an idle relay waits for a commit of another replica (its own wake it at once). */
const IDLE_POLL_MS = 200;
/** How often a standby asks for the lease: the takeover delay after the relaying replica dies. */
const STANDBY_POLL_MS = 1000;
const SAMPLE_EVERY_MS = 5000;
/** How often a relay waiting for the broker looks again, and how often it touches the lease's session meanwhile. */
const BROKER_POLL_MS = 100;
const LEASE_PING_MS = 5000;

/**
 * Publishes what the outbox owes to `<prefix>.events`, oldest first, on one channel (so in
 * order), and deletes an entry only once the broker confirmed all of its events: an event
 * committed in PostgreSQL reaches the exchange however long the broker is away, and a crash
 * between publish and delete publishes it again (at least once). One replica relays at a time
 * (SessionLease 'feedRelay'); the others stand by and take over within about STANDBY_POLL_MS.
 */
@Injectable()
export class FeedRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('FeedRelay');
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  private state = 'starting';
  private up = true;

  constructor(
    private readonly config: FeedConfig,
    private readonly database: DatabaseService,
    private readonly outbox: FeedOutbox,
    private readonly publisher: OutboundPublisher,
    private readonly signal: FeedSignal,
    private readonly metrics: FeedMetrics,
    private readonly fanOut: DestinationFanOut,
    health: HealthRegistry,
  ) {
    if (config.enabled) {
      health.register({
        dependency: 'feed',
        neededFor: 'nothing',
        check: () => ({ up: this.up, state: this.state }),
      });
    }
  }

  onApplicationBootstrap(): void {
    if (!this.config.outbox) return;
    const stopped = new Promise<void>((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve()),
    );
    this.running = Promise.race([this.database.ready, stopped]).then(async () => {
      if (!this.stop.signal.aborted) await Promise.all([this.relay(), this.sample()]);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop.abort();
    this.signal.notify();
    await this.running;
  }

  private report(up: boolean, state: string): void {
    if (state !== this.state) this.logger.log(`feed relay: ${state}`);
    this.up = up;
    this.state = state;
  }

  private async relay(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let lease: SessionLease | null = null;
      let failed = false;
      try {
        lease = await SessionLease.acquire(this.database.dataSource, 'feedRelay');
        if (lease) {
          this.metrics.active.set(1);
          await this.relayWhileLeading(lease);
        } else this.report(true, 'standby: another replica relays');
      } catch (err) {
        failed = true;
        this.metrics.failures.inc();
        this.report(false, `failing: ${(err as Error).message}`);
      } finally {
        this.metrics.active.set(0);
        await lease?.release();
      }
      if (!lease || failed) await this.pause(failed ? 1000 : STANDBY_POLL_MS);
    }
  }

  private async relayWhileLeading(lease: SessionLease): Promise<void> {
    let pinged = Date.now();
    while (!this.stop.signal.aborted) {
      if (this.config.enabled && !this.publisher.usable) {
        this.report(false, 'waiting for the broker');
        if (Date.now() - pinged >= LEASE_PING_MS) {
          // Keeps the lease's session busy (PostgreSQL ends an idle one) and notices a lost database.
          await lease.runner.query('SELECT 1');
          pinged = Date.now();
        }
        await this.pause(BROKER_POLL_MS);
        continue;
      }
      this.report(true, this.config.enabled ? 'relaying' : 'handing events to the destinations');
      const published = await this.round(lease);
      if (published === 0) await this.signal.wait(IDLE_POLL_MS);
    }
  }

  /**
   * Publishes the oldest entries (with FEED_ENABLED) and deletes them once confirmed, recording what
   * the HTTP destinations are owed in the same transaction as the delete; returns how many events
   * went out.
   */
  private async round(lease: SessionLease): Promise<number> {
    const entries = await this.outbox.oldest(lease.runner, MAX_EVENTS_PER_ROUND);
    if (entries.length === 0) return 0;
    const events = await readEvents(lease.runner, [...new Set(entries.flatMap((entry) => entry.eventIds))]);
    if (this.config.enabled) await this.publish(entries, events);
    await this.handOver(lease, entries, events);
    return entries.reduce((sum, entry) => sum + entry.eventIds.length, 0);
  }

  /**
   * Every message of the round goes on the wire (in order) before the one wait for all their
   * confirms (traced: a span per message, all ended by that wait).
   */
  private async publish(entries: readonly OutboxEntry[], events: Map<string, StoredEvent>): Promise<void> {
    const exchange = this.publisher.topology.eventsExchange;
    const messages: (OutgoingMessage & { event: StoredEvent; replay: boolean })[] = [];
    for (const entry of entries) {
      for (const eventId of entry.eventIds) {
        const event = events.get(eventId);
        if (!event) continue; // removed by retention before it could be published
        messages.push({ exchange, ...feedMessageOf(event, entry.replay), event, replay: entry.replay });
      }
    }
    await traceFeedRound(messages, () => this.publisher.publishAll(messages));
    const published = new Map<string, number>();
    for (const { event } of messages) published.set(event.outcome, (published.get(event.outcome) ?? 0) + 1);
    for (const [outcome, count] of published) this.metrics.published.inc({ outcome }, count);
  }

  /** Deletes the entries; when destinations exist, records what they are owed in the same transaction. */
  private async handOver(
    lease: SessionLease,
    entries: readonly OutboxEntry[],
    events: Map<string, StoredEvent>,
  ): Promise<void> {
    const positions = entries.map((entry) => entry.position);
    if (!this.fanOut.active) {
      await this.outbox.remove(lease.runner, positions);
      return;
    }
    await lease.runner.startTransaction();
    try {
      await this.fanOut.record(lease.runner, entries, events);
      await this.outbox.remove(lease.runner, positions);
      await lease.runner.commitTransaction();
    } catch (err) {
      await lease.runner.rollbackTransaction().catch(() => undefined);
      throw err;
    }
    this.fanOut.committed();
  }

  /** Every replica samples the outbox: the figures stay visible whichever replica relays. */
  private async sample(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const runner = this.database.dataSource.createQueryRunner();
      try {
        const { events, oldestSeconds } = await this.outbox.sample(runner);
        this.metrics.outboxEvents.set(events);
        this.metrics.outboxOldestSeconds.set(oldestSeconds);
      } catch {
        // the relay loop reports database trouble
      } finally {
        await runner.release();
      }
      await this.pause(SAMPLE_EVERY_MS);
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}
