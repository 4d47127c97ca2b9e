import { Injectable } from '@nestjs/common';
import { BrokerConfig } from '../config/config.slices';
import type { AmqpConnection } from './amqp-connection';
import { InjectConnection } from './broker-connections';
import { BrokerUnavailableError } from './broker-unavailable.error';
import { DeliveryHeaders } from './delivery-message';
import { topologyFor, type Topology } from './topology';

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
