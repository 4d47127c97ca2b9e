import {
  connect,
  type Channel,
  type ChannelModel,
  type ConsumeMessage,
  type MessageProperties,
} from 'amqplib';
import { topologyFor } from '../../src/messaging/topology';
import { AMQP_URL } from './env';
import { waitFor } from './poll';

/** One message as a downstream consumer of the feed (`<prefix>.events`) received it. */
export interface FeedCopy {
  /** message_id: the eventId. */
  eventId: string;
  routingKey: string;
  properties: MessageProperties;
  headers: Record<string, unknown>;
  /** The content, parsed as JSON. */
  body: unknown;
  redelivered: boolean;
}

let counter = 0;

/**
 * A consumer's queue on the feed: a durable queue of the test's own, bound to `<prefix>.events`
 * with `#` (the exchange is declared as the service declares it, so the binding can exist before
 * the service starts). Everything that arrives is acked and kept in `copies`, in arrival order.
 * Durable, so it survives a broker restart: `reconnect()` consumes again afterwards. `delete()`
 * removes the queue; `deleteWithTopology()` also what the service declared for the prefix.
 */
export class FeedQueue {
  readonly copies: FeedCopy[] = [];
  private model: ChannelModel | null = null;
  private channel: Channel | null = null;

  private constructor(
    readonly url: string,
    readonly prefix: string,
    readonly exchange: string,
    readonly queue: string,
    private readonly bindingKey: string,
  ) {}

  static async bind(
    prefix: string,
    { url = AMQP_URL, bindingKey = '#' }: { url?: string; bindingKey?: string } = {},
  ): Promise<FeedQueue> {
    counter += 1;
    const feed = new FeedQueue(
      url,
      prefix,
      topologyFor(prefix).eventsExchange,
      `${prefix}.feed-test-${process.pid}-${counter}`,
      bindingKey,
    );
    await feed.reconnect();
    return feed;
  }

  /** (Re)declares the exchange, the queue and the binding, and consumes; after a broker restart too. */
  async reconnect(): Promise<void> {
    await this.disconnect();
    const model = await connect(this.url);
    model.on('error', () => undefined);
    model.on('close', () => {
      if (this.model === model) {
        this.model = null;
        this.channel = null;
      }
    });
    const channel = await model.createChannel();
    channel.on('error', () => undefined);
    await this.declare(channel);
    await channel.prefetch(1000);
    await channel.consume(this.queue, (message) => message && this.take(channel, message), { noAck: false });
    this.model = model;
    this.channel = channel;
  }

  /** Declares the exchange (as the service does), the queue and the binding again, e.g. after a deletion. */
  async declare(channel: Channel | null = this.channel): Promise<void> {
    if (!channel) throw new Error('feed queue not connected');
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    await channel.assertQueue(this.queue, { durable: true });
    await channel.bindQueue(this.queue, this.exchange, this.bindingKey);
  }

  private take(channel: Channel, message: ConsumeMessage): void {
    const text = message.content.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    this.copies.push({
      eventId: String(message.properties.messageId),
      routingKey: message.fields.routingKey,
      properties: message.properties,
      headers: message.properties.headers ?? {},
      body,
      redelivered: message.fields.redelivered,
    });
    channel.ack(message);
  }

  /** Copies received so far, per eventId. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const copy of this.copies) counts.set(copy.eventId, (counts.get(copy.eventId) ?? 0) + 1);
    return counts;
  }

  /** The first copy of each event, in arrival order (a consumer that deduplicates on message_id). */
  firstCopies(): FeedCopy[] {
    const seen = new Set<string>();
    return this.copies.filter((copy) => !seen.has(copy.eventId) && seen.add(copy.eventId));
  }

  /** Waits until every one of `eventIds` has arrived at least once. */
  async waitForAll(
    eventIds: Iterable<string>,
    timeoutMs = 30000,
    what = 'events on the feed',
  ): Promise<void> {
    const wanted = [...new Set(eventIds)];
    await waitFor(
      () => {
        const counts = this.counts();
        return wanted.every((id) => counts.has(id));
      },
      { timeoutMs, intervalMs: 50, what: `${wanted.length} ${what}` },
    ).catch((err: Error) => {
      const counts = this.counts();
      const missing = wanted.filter((id) => !counts.has(id));
      throw new Error(`${err.message}; ${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`);
    });
  }

  /** Forgets what was received (the queue stays). */
  clear(): void {
    this.copies.length = 0;
  }

  private async disconnect(): Promise<void> {
    const model = this.model;
    this.model = null;
    this.channel = null;
    await model?.close().catch(() => undefined);
  }

  /** Disconnects and deletes the queue (on a connection of its own). */
  async delete(): Promise<void> {
    await this.disconnect();
    await this.onChannel((channel) => channel.deleteQueue(this.queue));
  }

  /**
   * Also deletes the feed exchange and the queues and exchanges the service declared for this
   * prefix: for the end of a test, once the service has stopped (else it declares them again).
   */
  async deleteWithTopology(): Promise<void> {
    await this.delete();
    const topology = topologyFor(this.prefix);
    await this.onChannel(async (channel) => {
      for (const queue of [topology.queue, topology.deadLetterQueue]) await channel.deleteQueue(queue);
      for (const exchange of [this.exchange, topology.exchange, topology.deadLetterExchange])
        await channel.deleteExchange(exchange);
    });
  }

  private async onChannel(work: (channel: Channel) => Promise<unknown>): Promise<void> {
    const model = await connect(this.url);
    model.on('error', () => undefined);
    try {
      await work(await model.createChannel());
    } finally {
      await model.close().catch(() => undefined);
    }
  }
}
