import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { FeedConfig } from '../config/config.slices';
import { Readiness } from '../health/readiness';
import { FeedOutbox } from '../events/feed-outbox';
import { BrokerConfig } from '../config/config.slices';
import { QueueDepth } from '../messaging/queue-depth';
import { topologyFor, type Topology } from '../messaging/topology';
import { Metrics } from '../metrics/metrics.service';

export interface Overview {
  ready: { ready: boolean; reason: string | null };
  queue: { messages: number; consumers: number } | null;
  deadLetters: number | null;
  brokerProblem: string | null;
  quarantine: { waiting: number; total: number };
  /** Events the feed still owes, and how long the oldest has waited (null when none). */
  outbox: { events: number; oldestMs: number | null };
  feedEnabled: boolean;
  lastHour: { deliveries: number; events: number };
  signatureFailures: number | null;
  perName: { name: string; events: number }[];
  lastDeliveryMs: number | null;
  /** In words, what needs a person now; empty when nothing does. */
  attention: string[];
}

/** The state of things on one page: readiness, backlog, consumers, failures and feed lag. */
@Injectable()
export class OverviewService {
  private readonly topology: Topology;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly readiness: Readiness,
    private readonly depth: QueueDepth,
    private readonly outbox: FeedOutbox,
    private readonly metrics: Metrics,
    private readonly feed: FeedConfig,
    broker: BrokerConfig,
  ) {
    this.topology = topologyFor(broker.prefix);
  }

  async read(): Promise<Overview> {
    const [ready, broker, owed, [counts], perName] = await Promise.all([
      this.readiness.check(),
      this.broker(),
      this.outbox.sample(),
      this.dataSource.query<Record<string, number | null>[]>(`
        SELECT (SELECT count(*) FROM quarantined_deliveries WHERE replayed_at IS NULL AND resolved_at IS NULL)::int AS q_waiting,
               (SELECT count(*) FROM quarantined_deliveries)::int AS q_total,
               (SELECT count(DISTINCT delivery_id) FROM webhook_events WHERE received_at > now() - interval '1 hour')::int AS deliveries,
               (SELECT count(*) FROM webhook_events WHERE received_at > now() - interval '1 hour')::int AS events,
               (SELECT extract(epoch FROM now() - max(received_at)) * 1000 FROM webhook_events)::float8 AS last_ms`),
      this.dataSource.query<{ name: string; events: number }[]>(
        `SELECT name, count(*)::int AS events FROM webhook_events
          WHERE received_at > now() - interval '24 hours' GROUP BY name ORDER BY events DESC, name LIMIT 50`,
      ),
    ]);
    const overview: Overview = {
      ready,
      ...broker,
      quarantine: { waiting: Number(counts.q_waiting), total: Number(counts.q_total) },
      outbox: { events: owed.events, oldestMs: owed.events > 0 ? owed.oldestSeconds * 1000 : null },
      feedEnabled: this.feed.enabled,
      lastHour: { deliveries: Number(counts.deliveries), events: Number(counts.events) },
      signatureFailures: await this.signatureFailures(),
      perName,
      lastDeliveryMs: counts.last_ms,
      attention: [],
    };
    overview.attention = attention(overview);
    return overview;
  }

  private async broker(): Promise<Pick<Overview, 'queue' | 'deadLetters' | 'brokerProblem'>> {
    try {
      const [queue, deadLetters] = await Promise.all([
        this.depth.check(this.topology.queue),
        this.depth.check(this.topology.deadLetterQueue),
      ]);
      return { queue, deadLetters: deadLetters.messages, brokerProblem: null };
    } catch (err) {
      return { queue: null, deadLetters: null, brokerProblem: (err as Error).message };
    }
  }

  /** Refused signatures counted by this process since it started (the api role's replicas count theirs). */
  private async signatureFailures(): Promise<number | null> {
    const { values } = await this.metrics.deliveries.get();
    const refused = values.find((value) => value.labels.result === 'bad_signature');
    return refused ? refused.value : null;
  }
}

function attention(o: Overview): string[] {
  const needs: string[] = [];
  if (!o.ready.ready) needs.push(`This instance is not ready: ${o.ready.reason}.`);
  if (o.brokerProblem) needs.push(`The broker cannot be asked: ${o.brokerProblem}.`);
  if (o.queue && o.queue.messages > 0 && o.queue.consumers === 0) {
    needs.push(
      `${count(o.queue.messages, 'delivery waits', 'deliveries wait')} in the queue and no worker consumes them.`,
    );
  }
  if (o.deadLetters) {
    needs.push(
      `${count(o.deadLetters, 'delivery is', 'deliveries are')} dead-lettered: read the reasons, fix the cause, move them back.`,
    );
  }
  if (o.quarantine.waiting > 0) {
    needs.push(
      `${count(o.quarantine.waiting, 'quarantined item is', 'quarantined items are')} neither replayed nor resolved: look at the reasons.`,
    );
  }
  if (o.feedEnabled && o.outbox.oldestMs !== null && o.outbox.oldestMs > 60_000) {
    needs.push(
      `The feed is behind: its oldest outbox row waits for ${Math.round(o.outbox.oldestMs / 1000)} s.`,
    );
  }
  return needs;
}

/** `1 delivery waits`, `3 deliveries wait`. */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
