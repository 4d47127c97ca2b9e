import type { Channel } from 'amqplib';

/** Every exchange, queue and routing key the service uses, derived from AMQP_PREFIX. */
export interface Topology {
  exchange: string;
  queue: string;
  routingKey: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
  /** The downstream feed: a durable topic exchange; the service declares no queue on it. */
  eventsExchange: string;
}

export function topologyFor(prefix: string): Topology {
  return {
    exchange: `${prefix}.deliveries`,
    queue: `${prefix}.deliveries`,
    routingKey: 'delivery',
    deadLetterExchange: `${prefix}.dead-letter`,
    deadLetterQueue: `${prefix}.deliveries.dead-letter`,
    eventsExchange: `${prefix}.events`,
  };
}

/**
 * Declares the topology idempotently (every replica does it at each (re)connect).
 * Quorum queues: replicated, durable, and they count redeliveries (`x-delivery-count`).
 * No `x-delivery-limit`: a database outage must never dead-letter; the consumer bounds retries of
 * deliveries that fail for a lasting reason itself and dead-letters them with the reason.
 */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(topology.deadLetterQueue, topology.deadLetterExchange, '');

  await channel.assertExchange(topology.exchange, 'direct', { durable: true });
  await channel.assertQueue(topology.queue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': topology.deadLetterExchange },
  });
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);

  await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
}
