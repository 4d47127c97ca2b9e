/**
 * The bare floor the benchmark measures the service against: the contract with the least code and
 * none of the service's design costs (node:http + crypto + amqplib + pg, no framework).
 * - HTTP: receiver.ts, shared with the like-for-like reference.
 * - Consumer (same process, its own connection), with the service's batch rules: prefetch
 *   CONSUMER_PREFETCH, at most CONSUMER_BATCH_SIZE deliveries and 1,000 events per batch (counted by
 *   the x-item-count header the receiver sets), one transaction per batch (bare-store.ts: primary keys
 *   only, no advisory locks, no revision read, no outbox), acks after COMMIT.
 * - Feed (only with FEED_EXCHANGE, the bench's "bare, feed on"): after COMMIT, every event of the
 *   batch as one persistent message on a confirm channel to that topic exchange, with the service's
 *   routing key `<outcome>.<name>`, message id and the headers of the feed's contract; the batch's
 *   deliveries are acked once all of its messages are confirmed (at least once, as the service), while
 *   the next batch is stored. No outbox: the least a feed costs, the broker's share included.
 * Durability is the service's: persistent messages, publisher confirms, quorum queue, acks after
 * commit, PostgreSQL's defaults (synchronous_commit on, logged tables).
 *
 * Run by bench/run.ts after a plain transpile; by hand:
 *   node -r ts-node/register/transpile-only bench/reference/bare.ts
 */
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { BARE_SCHEMA, storeBare, type Row } from './bare-store';
import { Receiver } from './receiver';

const env = process.env;
const PORT = Number(env.PORT ?? 3000);
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `${env.AMQP_PREFIX ?? 'bare'}.deliveries`;
const PREFETCH = Number(env.CONSUMER_PREFETCH ?? 100);
const BATCH_SIZE = Number(env.CONSUMER_BATCH_SIZE ?? 100);
const MAX_EVENTS_PER_BATCH = 1000;
const FEED_EXCHANGE = env.FEED_EXCHANGE;

let consumerStarted = false;
const receiver = new Receiver(QUEUE, () => consumerStarted);

// ---------------------------------------------------------------- RabbitMQ → PostgreSQL

const buffer: amqp.ConsumeMessage[] = [];
let draining: Promise<void> | null = null;
let consumeChannel: amqp.Channel;
let feedChannel: amqp.ConfirmChannel | null = null;
const db = new Client({ connectionString: DATABASE_URL, application_name: 'bench-bare' });

function takeBatch(): amqp.ConsumeMessage[] {
  let taken = 0;
  let events = 0;
  while (taken < buffer.length && taken < BATCH_SIZE) {
    const items = Number(buffer[taken].properties.headers?.['x-item-count']) || 1;
    if (taken > 0 && events + items > MAX_EVENTS_PER_BATCH) break;
    events += items;
    taken++;
  }
  return buffer.splice(0, taken);
}

/** Publishes the stored rows to the feed exchange; resolves once every one is confirmed. */
function publishFeed(rows: readonly Row[], outcomes: readonly string[]): Promise<void> {
  const channel = feedChannel!;
  return Promise.all(
    rows.map(
      (row, i) =>
        new Promise<void>((resolve, reject) => {
          const headers: Record<string, unknown> = {
            'x-event-id': row.eventId,
            'x-event-name': row.name,
            'x-outcome': outcomes[i],
            'x-entity-type': row.entityType,
            'x-delivery-id': row.deliveryId,
            'x-received-at': row.receivedAt,
          };
          if (row.entityId !== null) headers['x-entity-id'] = row.entityId;
          if (row.revision !== null) headers['x-revision'] = row.revision;
          if (row.apiSpaceId !== null) headers['x-api-space-id'] = row.apiSpaceId;
          channel.publish(
            FEED_EXCHANGE!,
            `${outcomes[i]}.${row.name}`,
            Buffer.from(row.payload),
            {
              persistent: true,
              contentType: 'application/json',
              messageId: row.eventId,
              timestamp: Math.floor(Date.parse(row.receivedAt) / 1000),
              headers,
            },
            (err) => (err ? reject(new Error('feed message nacked')) : resolve()),
          );
        }),
    ),
  ).then(() => undefined);
}

function drain(): Promise<void> {
  draining ??= (async () => {
    while (buffer.length > 0) {
      const batch = takeBatch();
      try {
        const { rows, outcomes } = await storeBare(
          db,
          batch.map((m) => ({
            content: m.content,
            deliveryId: String(m.properties.messageId),
            receivedAt: String(m.properties.headers?.['x-received-at']),
          })),
        );
        const ack = () => {
          for (const message of batch) consumeChannel.ack(message); // only after COMMIT (and the feed's confirms)
        };
        if (!feedChannel) ack();
        else {
          publishFeed(rows, outcomes).then(ack, (err: unknown) => {
            console.error(`feed not confirmed: ${(err as Error).message}`);
            for (const message of batch) consumeChannel.nack(message, false, true);
          });
        }
      } catch (err) {
        console.error(`batch not stored: ${(err as Error).message}`);
        for (const message of batch) consumeChannel.nack(message, false, true);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })().finally(() => (draining = null));
  return draining;
}

async function main(): Promise<void> {
  await db.connect();
  await db.query(BARE_SCHEMA);

  await receiver.connect(AMQP_URL);

  const consumerConnection = await amqp.connect(AMQP_URL);
  consumeChannel = await consumerConnection.createChannel();
  if (FEED_EXCHANGE) {
    feedChannel = await consumerConnection.createConfirmChannel();
    await feedChannel.assertExchange(FEED_EXCHANGE, 'topic', { durable: true });
  }
  await consumeChannel.prefetch(PREFETCH);
  const { consumerTag } = await consumeChannel.consume(QUEUE, (message) => {
    if (!message) return;
    buffer.push(message);
    void drain();
  });
  consumerStarted = true;
  receiver.listen(PORT);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    receiver.stopListening();
    void (async () => {
      await consumeChannel.cancel(consumerTag).catch(() => undefined);
      await (draining ?? Promise.resolve());
      await consumerConnection.close().catch(() => undefined);
      await receiver.close();
      await db.end().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('bare floor failed to start:', err);
  process.exit(1);
});
