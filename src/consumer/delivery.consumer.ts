import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { createHash } from 'node:crypto';
import { InjectConfig } from '../config/config.module';
import type { Env } from '../config/env.schema';
import { parseDelivery } from '../envelope/delivery.parser';
import { DatabaseService } from '../events/database.service';
import type { StoredDelivery } from '../events/event.store';
import { AmqpConnection } from '../messaging/amqp-connection';
import { DeliveryHeaders, topologyFor, type Topology } from '../messaging/topology';
import { Metrics } from '../metrics/metrics.service';
import { EventProcessor } from './event.processor';

const MAX_EVENTS_PER_BATCH = 1000;

interface Pending {
  message: ConsumeMessage;
  channel: ConfirmChannel;
}

/**
 * The only AMQP-aware part of the worker. Takes deliveries with manual acks and a bounded prefetch,
 * hands them to the EventProcessor in batches (one transaction each), and acks only after commit.
 * A delivery that cannot be stored for a lasting reason is published to the dead-letter exchange
 * with the reason in its headers, confirmed, and only then acked. Nothing is acked unstored.
 */
@Injectable()
export class DeliveryConsumer
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('DeliveryConsumer');
  readonly connection: AmqpConnection;
  private readonly topology: Topology;
  private readonly buffer: Pending[] = [];
  private consumerTag: string | null = null;
  private draining: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private stopping = false;

  constructor(
    @InjectConfig() private readonly config: Env,
    private readonly database: DatabaseService,
    private readonly processor: EventProcessor,
    private readonly metrics: Metrics,
  ) {
    this.topology = topologyFor(config.AMQP_PREFIX);
    this.connection = new AmqpConnection({
      url: config.AMQP_URL,
      name: `${config.AMQP_PREFIX}-consumer`,
      topology: this.topology,
      onChannel: (channel) => this.consume(channel),
    });
  }

  onApplicationBootstrap(): void {
    // Messages are taken only once the schema is in place; until then they wait in the queue.
    void this.database.ready.then(() => (this.stopping ? undefined : this.connection.start()));
  }

  /**
   * Graceful stop: no new deliveries (basic.cancel), finish everything already received so SIGTERM
   * causes no redelivery, then close. Bounded by SHUTDOWN_TIMEOUT_MS: past it, unacked deliveries
   * go back to the queue when the channel closes (redelivery, never loss).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const channel = this.connection.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    const deadline = setTimeout(
      () => this.abort.abort(new Error('shutdown timeout')),
      this.config.SHUTDOWN_TIMEOUT_MS,
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

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
    await this.connection.close();
  }

  private async consume(channel: ConfirmChannel): Promise<void> {
    if (this.stopping) return;
    await channel.prefetch(this.config.CONSUMER_PREFETCH);
    const { consumerTag } = await channel.consume(
      this.topology.queue,
      (message) => {
        if (message === null) {
          this.logger.warn('consumer cancelled by the broker; reconnecting');
          channel.close().catch(() => undefined);
          return;
        }
        this.buffer.push({ message, channel });
        void this.drain();
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
  }

  /** Processes the buffer until it is empty; one loop at a time, batches form while a batch is stored. */
  private drain(): Promise<void> {
    this.draining ??= this.drainLoop().finally(() => (this.draining = null));
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.takeBatch();
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

  /**
   * The next batch: up to CONSUMER_BATCH_SIZE deliveries, but no more than MAX_EVENTS_PER_BATCH
   * events (by the api's item-count header, without parsing), so large batch deliveries keep one
   * transaction, and the memory it needs, bounded.
   */
  private takeBatch(): Pending[] {
    let taken = 0;
    let events = 0;
    while (taken < this.buffer.length && taken < this.config.CONSUMER_BATCH_SIZE) {
      const items = itemCountOf(this.buffer[taken].message);
      if (taken > 0 && events + items > MAX_EVENTS_PER_BATCH) break;
      events += items;
      taken++;
    }
    return this.buffer.splice(0, taken);
  }

  private async processBatch(batch: Pending[]): Promise<void> {
    const deliveries = batch.map(({ message }) => toStoredDelivery(message));
    const verdicts = await this.processor.process(deliveries, this.abort.signal);
    for (const [i, verdict] of verdicts.entries()) {
      const { message, channel } = batch[i];
      if (!verdict.stored) {
        try {
          await this.deadLetter(channel, message, verdict.reason);
        } catch (err) {
          this.logger.error(`dead-lettering failed, returned to the queue: ${(err as Error).message}`);
          settle(() => channel.nack(message, false, true));
          continue;
        }
      }
      settle(() => channel.ack(message));
    }
  }

  private async deadLetter(channel: ConfirmChannel, message: ConsumeMessage, reason: string): Promise<void> {
    const headers: Record<string, unknown> = {
      ...message.properties.headers,
      [DeliveryHeaders.failureReason]: reason.slice(0, 1000),
      [DeliveryHeaders.failedAt]: new Date().toISOString(),
    };
    await new Promise<void>((resolve, reject) =>
      channel.publish(
        this.topology.deadLetterExchange,
        this.topology.routingKey,
        message.content,
        { ...message.properties, headers, persistent: true },
        (err) => (err ? reject(new Error('dead-letter publish not confirmed')) : resolve()),
      ),
    );
    this.metrics.deadLettered.inc({ reason: 'storage_failed' });
    this.logger.error({
      msg: 'delivery dead-lettered',
      deliveryId: headers[DeliveryHeaders.deliveryId],
      reason,
    });
  }
}

/** Acks or nacks; when the channel has closed meanwhile the broker redelivers, and storage ignores repeats. */
function settle(operation: () => void): void {
  try {
    operation();
  } catch {
    // channel already closed
  }
}

function itemCountOf(message: ConsumeMessage): number {
  const count = Number(message.properties.headers?.[DeliveryHeaders.itemCount]);
  return Number.isSafeInteger(count) && count > 0 ? count : 1;
}

/** The api's headers and the exact bytes; a message without them (published by hand) still gets ids. */
function toStoredDelivery(message: ConsumeMessage): StoredDelivery {
  const headers = message.properties.headers ?? {};
  const deliveryId = String(
    headers[DeliveryHeaders.deliveryId] ??
      message.properties.messageId ??
      `sha256-${createHash('sha256').update(message.content).digest('hex')}`,
  );
  const receivedAtHeader = headers[DeliveryHeaders.receivedAt] as unknown;
  const receivedAt = typeof receivedAtHeader === 'string' ? new Date(receivedAtHeader) : new Date();
  return {
    deliveryId,
    receivedAt: Number.isNaN(receivedAt.getTime()) ? new Date() : receivedAt,
    body: message.content,
    parsed: parseDelivery(message.content),
  };
}
