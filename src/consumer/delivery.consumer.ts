import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { BrokerConfig, ConsumerConfig, LifecycleConfig } from '../config/config.slices';
import { DatabaseService } from '../database/database.service';
import { IntakeActivity } from '../lifecycle/intake-activity';
import type { AmqpConnection } from '../messaging/amqp-connection';
import { InjectConnection } from '../messaging/broker-connections';
import { deliveryOf, itemCountOf } from '../messaging/delivery-message';
import { topologyFor } from '../messaging/topology';
import { MAX_EVENTS_PER_BATCH, takeBatch } from './batch';
import { DeadLetters } from './dead-letters';
import { EventProcessor } from './event.processor';
import { PrefetchBound } from './prefetch-bound';
import { settle, settleBatch, type Pending } from './settle-batch';
import { StorageMetrics } from './storage.metrics';

/**
 * The only part of the worker that consumes AMQP. Takes deliveries with manual acks and a bounded
 * prefetch, hands them to the EventProcessor in batches (one transaction each), and acks only after
 * the commit. A delivery that cannot be stored at all is dead-lettered (confirmed) before its ack.
 * In role `all` it gives way to the intake of its own process: before each batch it waits, up to
 * CONSUMER_YIELD_MS, while webhook requests keep the event loop busy (the batch grows meanwhile).
 */
@Injectable()
export class DeliveryConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeliveryConsumer');
  private readonly queue: string;
  private readonly buffer: Pending[] = [];
  private consumerTag: string | null = null;
  /** The channel of `consumerTag`, and the prefetch it was given. */
  private consumerChannel: ConfirmChannel | null = null;
  private prefetchInForce = 0;
  private readonly prefetch: PrefetchBound;
  private resizing = false;
  private draining: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(
    broker: BrokerConfig,
    private readonly config: ConsumerConfig,
    private readonly lifecycle: LifecycleConfig,
    private readonly database: DatabaseService,
    private readonly processor: EventProcessor,
    private readonly deadLetters: DeadLetters,
    private readonly intake: IntakeActivity,
    private readonly metrics: StorageMetrics,
    @InjectConnection('consumer') private readonly connection: AmqpConnection,
  ) {
    this.prefetch = new PrefetchBound(config.prefetch, config.prefetchBytes);
    this.queue = topologyFor(broker.prefix).queue;
  }

  onApplicationBootstrap(): void {
    // Messages are taken only once the schema is in place; until then they wait in the queue.
    // MessagingModule closes the connection, after this consumer has stopped.
    void this.database.ready.then(() =>
      this.stopping ? undefined : this.connection.startWith((channel) => this.consume(channel)),
    );
  }

  /**
   * Graceful stop: no new deliveries (basic.cancel), finish everything already received so SIGTERM
   * causes no redelivery. Bounded by SHUTDOWN_TIMEOUT_MS: past it, unacked deliveries go back to the
   * queue when the channel closes (redelivery, never loss).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const channel = this.connection.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    const deadline = setTimeout(
      () => this.abort.abort(new Error('shutdown timeout')),
      this.lifecycle.shutdownTimeoutMs,
    );
    try {
      await this.drain();
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Runs before the HTTP server closes, so the consumer drains while in-flight requests finish. */
  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  private async consume(channel: ConfirmChannel): Promise<void> {
    if (this.stopping) return;
    await this.subscribe(channel);
  }

  /**
   * basic.qos with the prefetch the bytes seen call for, then a consumer that gets it (RabbitMQ
   * applies a prefetch to consumers started after it); the consumer it replaces on the same channel
   * is cancelled. What that one received stays unacknowledged on the channel and is settled as usual.
   */
  private async subscribe(channel: ConfirmChannel): Promise<void> {
    const count = this.prefetch.count;
    await channel.prefetch(count);
    const { consumerTag } = await channel.consume(this.queue, (message) => this.receive(channel, message), {
      noAck: false,
    });
    const previous = this.consumerChannel === channel ? this.consumerTag : null;
    this.consumerTag = consumerTag;
    this.consumerChannel = channel;
    this.prefetchInForce = count;
    if (previous) await channel.cancel(previous);
    if (this.stopping) await channel.cancel(consumerTag); // stop() raced this: it cancelled the old one
  }

  private receive(channel: ConfirmChannel, message: ConsumeMessage | null): void {
    if (message === null) {
      this.logger.warn('consumer cancelled by the broker; reconnecting');
      channel.close().catch(() => undefined);
      return;
    }
    this.buffer.push({ message, channel });
    void this.drain();
    this.prefetch.observe(message.content.length);
    if (this.resizing || this.stopping || !this.prefetch.worthChanging(this.prefetchInForce)) return;
    this.resizing = true;
    this.subscribe(channel)
      .catch((err: Error) => this.logger.warn(`prefetch not changed: ${err.message}`))
      .finally(() => (this.resizing = false));
  }

  /** Processes the buffer until it is empty; one loop at a time, batches form while a batch is stored. */
  private drain(): Promise<void> {
    this.draining ??= this.drainLoop().finally(() => (this.draining = null));
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    const limits = { deliveries: this.config.batchSize, events: MAX_EVENTS_PER_BATCH };
    while (this.buffer.length > 0) {
      await this.giveWay();
      const batch = takeBatch(this.buffer, (pending) => itemCountOf(pending.message), limits);
      const live = batch.filter((pending) => pending.channel === this.connection.channel);
      if (live.length === 0) continue; // their channel is gone: the broker redelivers them
      try {
        await this.processBatch(live);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.logger.error(`batch not stored, returned to the queue: ${(err as Error).message}`);
        for (const { channel, message } of live) settle(() => channel.nack(message, false, true));
      }
    }
  }

  /** Role `all` under load: the answers to Dotdigital first; a shutdown drains without waiting. */
  private async giveWay(): Promise<void> {
    if (this.stopping || this.config.yieldMs === 0) return;
    const waitedMs = await this.intake.giveWay(this.config.yieldMs, this.abort.signal);
    if (waitedMs > 0) this.metrics.yielded.inc(waitedMs / 1000);
  }

  private async processBatch(batch: Pending[]): Promise<void> {
    const verdicts = await this.processor.process(
      batch.map(({ message }) => deliveryOf(message)),
      this.abort.signal,
    );
    await settleBatch(
      batch,
      verdicts,
      (message, reason) => this.deadLetters.send(message, reason, this.abort.signal),
      (err) => this.logger.error(`dead-lettering failed, returned to the queue: ${err.message}`),
    );
  }
}
