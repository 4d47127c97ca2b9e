import { Injectable } from '@nestjs/common';
import { within } from '../common/within';
import type { AmqpConnection } from './amqp-connection';
import { BrokerUnavailableError } from './broker-unavailable.error';
import { InjectConnection } from './broker-connections';

/** A look at the broker that takes longer than this gives no figure (a scrape, a page view wait no longer). */
const LOOK_TIMEOUT_MS = 2000;

export interface Depth {
  /** Messages ready (not yet taken by a consumer). */
  messages: number;
  consumers: number;
}

/**
 * How many messages wait in a queue and how many consumers it has: one passive `queue.declare`
 * (checkQueue) on a connection of its own, so a look never touches the publisher's or the
 * consumer's channel (a missing queue closes the channel it is asked on). Serves the queue metrics
 * and the test page.
 */
@Injectable()
export class QueueDepth {
  constructor(@InjectConnection('queueDepth') private readonly connection: AmqpConnection) {}

  /** Rejects when the broker cannot be asked now or does not answer within 2 s. */
  async check(queue: string): Promise<Depth> {
    const channel = this.connection.channel;
    if (!channel) {
      throw new BrokerUnavailableError(
        `not connected to the message broker (${this.connection.status().state})`,
      );
    }
    const { messageCount, consumerCount } = await within(channel.checkQueue(queue), LOOK_TIMEOUT_MS);
    return { messages: messageCount, consumers: consumerCount };
  }
}
