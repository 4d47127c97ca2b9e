import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { trackedEntityOf, type SimEnvelope } from './envelope.types';
import type { StoreCheckTiming } from './store.check';

export interface FeedCheckResult {
  expected: number;
  arrived: number;
  missing: string[];
  /** Extra copies of events that arrived more than once (allowed: the feed is at least once). */
  duplicates: number;
  contentMismatch: string[];
  /** Routing key not `<outcome>.<name>`, or an outcome that contradicts the event's revision. */
  routingMismatch: string[];
  /** Run events on the feed that no delivery got acknowledged. */
  unacknowledged: string[];
  /** Messages of other events (a live deployment's own traffic): counted, not judged. */
  foreign: number;
  error?: string;
  waitedMs: number;
}

interface Copy {
  routingKey: string;
  content: unknown;
}

/**
 * Watches the downstream feed during a run. Started BEFORE sending, so no event can be
 * published before the queue exists: it declares the topic exchange `<prefix>.events` (durable, as
 * the service does, when absent) and a server-named exclusive auto-delete queue bound with `#`,
 * which RabbitMQ removes when the watcher's connection closes.
 */
export class FeedWatcher {
  private readonly copies = new Map<string, Copy[]>();
  private foreign = 0;
  private error?: string;
  private closed = false;

  /** The server-named queue, for logs and tests; it disappears with the connection. */
  queue = '';

  private constructor(
    private readonly model: ChannelModel,
    private readonly runEventIds: ReadonlySet<string>,
  ) {}

  static async start(url: string, prefix: string, runEventIds: ReadonlySet<string>): Promise<FeedWatcher> {
    const model = await connect(url);
    const watcher = new FeedWatcher(model, runEventIds);
    model.on('error', (err: Error) => (watcher.error = `feed connection: ${err.message}`));
    try {
      const channel: Channel = await model.createChannel();
      channel.on('error', (err: Error) => (watcher.error = `feed channel: ${err.message}`));
      const exchange = `${prefix}.events`;
      await channel.assertExchange(exchange, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, exchange, '#');
      watcher.queue = queue;
      await channel.consume(queue, (message) => watcher.take(message), { noAck: true });
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    return watcher;
  }

  private take(message: ConsumeMessage | null): void {
    if (!message) {
      this.error = 'the broker cancelled the feed consumer';
      return;
    }
    const eventId = String(message.properties.messageId);
    if (!this.runEventIds.has(eventId)) {
      this.foreign += 1;
      return;
    }
    let content: unknown;
    try {
      content = JSON.parse(message.content.toString('utf8'));
    } catch {
      content = message.content.toString('utf8');
    }
    const copy = { routingKey: message.fields.routingKey, content };
    const list = this.copies.get(eventId);
    if (list) list.push(copy);
    else this.copies.set(eventId, [copy]);
  }

  /**
   * Waits until every acknowledged event arrived or the settle timeout passed, judges what came,
   * and closes the connection (which removes the queue).
   */
  async finish(acknowledged: Map<string, SimEnvelope>, timing: StoreCheckTiming): Promise<FeedCheckResult> {
    const started = Date.now();
    const allArrived = () => [...acknowledged.keys()].every((eventId) => this.copies.has(eventId));
    while (!allArrived() && Date.now() - started < timing.settleTimeoutMs) await sleep(timing.pollIntervalMs);
    await this.close();

    const result: FeedCheckResult = {
      expected: acknowledged.size,
      arrived: 0,
      missing: [],
      duplicates: 0,
      contentMismatch: [],
      routingMismatch: [],
      unacknowledged: [],
      foreign: this.foreign,
      error: this.error,
      waitedMs: Date.now() - started,
    };
    for (const [eventId, envelope] of acknowledged) {
      const copies = this.copies.get(eventId);
      if (!copies) {
        result.missing.push(eventId);
        continue;
      }
      result.arrived += 1;
      result.duplicates += copies.length - 1;
      const sent: unknown = JSON.parse(JSON.stringify(envelope));
      if (!copies.every((copy) => isDeepStrictEqual(copy.content, sent)))
        result.contentMismatch.push(eventId);
      if (!copies.every((copy) => routingFits(copy.routingKey, envelope)))
        result.routingMismatch.push(eventId);
    }
    for (const eventId of this.copies.keys())
      if (!acknowledged.has(eventId)) result.unacknowledged.push(eventId);
    return result;
  }

  /** Closes the connection (idempotent); RabbitMQ then deletes the exclusive queue. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.model.close().catch(() => undefined);
  }
}

/** `<outcome>.<name>`: `untracked` exactly for events without an entity or integer revision. */
function routingFits(routingKey: string, envelope: SimEnvelope): boolean {
  const dot = routingKey.indexOf('.');
  const [outcome, name] = [routingKey.slice(0, dot), routingKey.slice(dot + 1)];
  if (name !== envelope.name) return false;
  return trackedEntityOf(envelope) ? outcome === 'applied' || outcome === 'stale' : outcome === 'untracked';
}
