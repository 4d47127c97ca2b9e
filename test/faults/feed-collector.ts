import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  awaitFeedCopies,
  feedContentOf,
  judgeFeedCopies,
  type FeedCheckResult,
  type FeedCopy,
  type SimEnvelope,
} from '../../src/simulator';

/**
 * A downstream consumer of the feed that survives the faults: a durable quorum queue of the run's
 * own bound to `<prefix>.events` with `#` (so what the service published with a confirm outlives a
 * broker kill, and a cluster node's loss), consumed with acks, re-consumed on whichever node answers
 * after its connection drops. The simulator's own FeedWatcher uses an exclusive queue, which a broker
 * kill takes with it.
 */
export class FeedCollector {
  private readonly copies = new Map<string, FeedCopy[]>();
  private model: ChannelModel | null = null;
  private closed = false;
  private reconnecting: Promise<void> | null = null;
  private node = 0;
  reconnects = 0;
  lastError = '';

  private constructor(
    private readonly urls: readonly string[],
    readonly exchange: string,
    readonly queue: string,
  ) {}

  static async start(urls: readonly string[], prefix: string): Promise<FeedCollector> {
    const collector = new FeedCollector(urls, `${prefix}.events`, `${prefix}.faults-feed`);
    await collector.connectOnce();
    return collector;
  }

  /** Event ids that arrived at least once. */
  has(eventId: string): boolean {
    return this.copies.has(eventId);
  }

  private async connectOnce(): Promise<void> {
    const url = this.urls[this.node % this.urls.length];
    const model = await connect(`${url}?heartbeat=5`, { timeout: 5000 });
    model.on('error', (err: Error) => (this.lastError = err.message));
    model.on('close', () => {
      if (this.model === model) this.model = null;
      if (!this.closed) void this.reconnect();
    });
    try {
      const channel: Channel = await model.createChannel();
      channel.on('error', (err: Error) => (this.lastError = err.message));
      await channel.assertExchange(this.exchange, 'topic', { durable: true });
      await channel.assertQueue(this.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await channel.bindQueue(this.queue, this.exchange, '#');
      await channel.prefetch(1000);
      await channel.consume(this.queue, (message) => message && this.take(channel, message), {
        noAck: false,
      });
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    this.model = model;
  }

  private reconnect(): Promise<void> {
    this.reconnecting ??= (async () => {
      while (!this.closed && !this.model) {
        this.node += 1;
        try {
          await this.connectOnce();
          this.reconnects += 1;
        } catch (err) {
          this.lastError = (err as Error).message;
          await sleep(500);
        }
      }
    })().finally(() => (this.reconnecting = null));
    return this.reconnecting;
  }

  private take(channel: Channel, message: ConsumeMessage): void {
    const eventId = String(message.properties.messageId);
    const copy = { routingKey: message.fields.routingKey, content: feedContentOf(message.content) };
    const list = this.copies.get(eventId);
    if (list) list.push(copy);
    else this.copies.set(eventId, [copy]);
    try {
      channel.ack(message);
    } catch {
      // the channel closed: the broker delivers it again, and a copy more is allowed
    }
  }

  /**
   * Waits (bounded) until every acknowledged event arrived, then judges the copies the way the
   * simulator's feed check does: the sent envelope as the body, `<outcome>.<name>` as the
   * routing key, at least once.
   */
  async judge(
    acknowledged: Map<string, SimEnvelope>,
    runEvents: ReadonlyMap<string, SimEnvelope>,
    { settleTimeoutMs, pollIntervalMs }: { settleTimeoutMs: number; pollIntervalMs: number },
  ): Promise<FeedCheckResult> {
    const started = Date.now();
    await awaitFeedCopies(acknowledged, this.copies, { settleTimeoutMs, pollIntervalMs });
    return judgeFeedCopies(acknowledged, this.copies, {
      foreign: 0,
      error: this.model ? undefined : `feed collector not connected (${this.lastError})`,
      waitedMs: Date.now() - started,
      runEvents,
    });
  }

  /** Forgets what was received (between trials: each trial judges only its own events). */
  clear(): void {
    this.copies.clear();
  }

  async close(deleteQueue = false): Promise<void> {
    this.closed = true;
    const model = this.model;
    this.model = null;
    if (!model) return;
    if (deleteQueue) {
      const channel = await model.createChannel().catch(() => null);
      await channel?.deleteQueue(this.queue).catch(() => undefined);
    }
    await model.close().catch(() => undefined);
  }
}
