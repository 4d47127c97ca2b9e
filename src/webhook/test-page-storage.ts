import { Injectable } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import { HealthRegistry, type HealthProbe } from '../health/health.registry';
import { QueueDepth } from '../messaging/queue-depth';
import { topologyFor } from '../messaging/topology';
import type { StorageState } from './test-page';

export type Backlog =
  | { known: true; queue: string; waiting: number; consumers: number }
  | { known: false; queue: string; why: string };

const CACHE_MS = 5000;

/**
 * What the test page shows of storage in the roles that store (app.module.ts registers it there
 * only): the database probe, the consumer's connection, and how many deliveries wait in
 * `<prefix>.deliveries` (QueueDepth), looked at most once every 5 s however often the page is loaded.
 */
@Injectable()
export class TestPageStorage {
  private readonly queue: string;
  private last: { at: number; backlog: Promise<Backlog> } | null = null;

  constructor(
    private readonly health: HealthRegistry,
    private readonly depth: QueueDepth,
    broker: BrokerConfig,
  ) {
    this.queue = topologyFor(broker.prefix).queue;
  }

  async state(): Promise<StorageState> {
    const probes = this.health.list();
    const state = async (probe: HealthProbe | undefined) => {
      if (!probe) return null;
      const { up, state } = await probe.check();
      return { up, state };
    };
    const [database, consumer, backlog] = await Promise.all([
      state(probes.find((probe) => probe.dependency === 'postgres')),
      state(probes.find((probe) => probe.dependency === 'rabbitmq' && probe.part === 'consumer')),
      this.backlog(),
    ]);
    return { database: database ?? { up: false, state: 'no database in this role' }, consumer, backlog };
  }

  private backlog(): Promise<Backlog> {
    if (this.last && Date.now() - this.last.at < CACHE_MS) return this.last.backlog;
    const backlog = this.depth.check(this.queue).then(
      ({ messages, consumers }): Backlog => ({
        known: true,
        queue: this.queue,
        waiting: messages,
        consumers,
      }),
      (err: unknown): Backlog => ({
        known: false,
        queue: this.queue,
        why: err instanceof Error ? err.message : String(err),
      }),
    );
    this.last = { at: Date.now(), backlog };
    return backlog;
  }
}
