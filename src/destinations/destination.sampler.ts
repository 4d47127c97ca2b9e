import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseService } from '../database/database.service';
import { DestinationMetrics } from './destination.metrics';
import { CIRCUIT_AFTER } from './destination.deliverer';
import { FRESH_STATE, readBacklogs, readStates } from './destination-state.statements';
import { Destinations } from './destinations';

const SAMPLE_EVERY_MS = 5000;
const STATES = ['active', 'paused', 'disabled'] as const;

/** Every replica samples the destinations' backlog and state: the figures stay visible whichever replica sends. */
@Injectable()
export class DestinationSampler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    private readonly destinations: Destinations,
    private readonly database: DatabaseService,
    private readonly metrics: DestinationMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.destinations.configured) return;
    const stopped = new Promise<void>((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve()),
    );
    this.running = Promise.race([this.database.ready, stopped]).then(() => this.sample());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async sample(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.sampleOnce();
      } catch {
        // the deliverer reports database trouble
      }
      await sleep(SAMPLE_EVERY_MS, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  private async sampleOnce(): Promise<void> {
    const { dataSource } = this.database;
    const [backlogs, states] = await Promise.all([readBacklogs(dataSource), readStates(dataSource)]);
    for (const { name } of this.destinations.all) {
      const backlog = backlogs.get(name);
      const state = states.get(name) ?? FRESH_STATE;
      this.metrics.pending.set({ destination: name }, backlog?.pending ?? 0);
      this.metrics.failedEvents.set({ destination: name }, backlog?.failed ?? 0);
      this.metrics.oldestPendingSeconds.set({ destination: name }, backlog?.oldestPendingSeconds ?? 0);
      for (const each of STATES)
        this.metrics.state.set({ destination: name, state: each }, state.state === each ? 1 : 0);
      this.metrics.circuitOpen.set({ destination: name }, state.consecutiveFailures >= CIRCUIT_AFTER ? 1 : 0);
    }
  }
}
