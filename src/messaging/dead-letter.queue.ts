import { Injectable } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import type { AmqpConnection } from './amqp-connection';
import { InjectConnection } from './broker-connections';
import { BrokerUnavailableError } from './broker-unavailable.error';
import type { GetMessage } from 'amqplib';
import { DeliveryHeaders } from './delivery-message';
import { topologyFor, type Topology } from './topology';

export interface DeadLetter {
  deliveryId: string;
  failureReason: string | null;
  failedAt: string | null;
  bytes: number;
}

/**
 * The dead-letter queue for operators: how many deliveries wait there, and moving them back to the
 * main queue. Each move is confirmed by the broker before the dead letter is acknowledged (removed),
 * so a crash in the middle loses nothing and repeats at most the one in hand (storage ignores repeats).
 */
@Injectable()
export class DeadLetterQueue {
  private readonly topology: Topology;

  constructor(
    private readonly config: BrokerConfig,
    @InjectConnection('deadLetters') private readonly connection: AmqpConnection,
  ) {
    this.topology = topologyFor(config.prefix);
  }

  async count(): Promise<number> {
    return (await this.channel().checkQueue(this.topology.deadLetterQueue)).messageCount;
  }

  /**
   * The oldest `limit` dead letters, read without removing them: fetched unacknowledged, then all
   * given back at once. A quorum queue serves returned messages first, so the order stays; each
   * comes back marked redelivered, which nothing downstream of the dead-letter queue reads.
   */
  async peek(limit: number, visit?: (letter: DeadLetter, body: Buffer) => void): Promise<DeadLetter[]> {
    const channel = this.channel();
    const letters: DeadLetter[] = [];
    let last: GetMessage | null = null;
    try {
      while (letters.length < limit) {
        const message = await channel.get(this.topology.deadLetterQueue, { noAck: false });
        if (message === false) break;
        last = message;
        const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
        const letter = {
          deliveryId: String(headers[DeliveryHeaders.deliveryId] ?? message.properties.messageId ?? ''),
          failureReason: textHeader(headers[DeliveryHeaders.failureReason]),
          failedAt: textHeader(headers[DeliveryHeaders.failedAt]),
          bytes: message.content.length,
        };
        letters.push(letter);
        // The bytes are lent to `visit` one letter at a time, never kept: a letter can be megabytes.
        visit?.(letter, message.content);
      }
    } finally {
      if (last) channel.nack(last, true, true);
    }
    return letters;
  }

  /**
   * Moves up to `limit` dead letters back (all those there now when undefined: a delivery that
   * fails again while the cause persists comes back to the queue, and must not be moved round and
   * round in one call); returns how many moved.
   */
  async moveBack(limit?: number): Promise<number> {
    const channel = this.channel();
    const present = (await channel.checkQueue(this.topology.deadLetterQueue)).messageCount;
    const most = Math.min(limit ?? present, present);
    let moved = 0;
    while (moved < most) {
      const message = await channel.get(this.topology.deadLetterQueue, { noAck: false });
      if (message === false) break;
      const headers = {
        ...message.properties.headers,
        [DeliveryHeaders.replayedAt]: new Date().toISOString(),
      };
      try {
        await this.connection.publish(
          this.topology.exchange,
          this.topology.routingKey,
          message.content,
          { ...(message.properties as object), headers, persistent: true, mandatory: true },
          { timeoutMs: this.config.publishTimeoutMs },
        );
      } catch (err) {
        channel.nack(message, false, true);
        throw err;
      }
      channel.ack(message);
      moved++;
    }
    return moved;
  }

  private channel() {
    const channel = this.connection.channel;
    if (!channel) {
      throw new BrokerUnavailableError(
        `not connected to the message broker (${this.connection.status().state})`,
      );
    }
    return channel;
  }
}

function textHeader(value: unknown): string | null {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : null;
}
