/**
 * The bare reference the benchmark compares the service with: the same contract with the least code
 * (node:http + crypto + amqplib + pg, no framework), and the same durability guarantees:
 * - HTTP: receiver.ts, shared with the bare floor.
 * - Consumer (same process, its own connection): prefetch CONSUMER_PREFETCH, batches of at most
 *   CONSUMER_BATCH_SIZE messages, one PostgreSQL transaction per batch (events `ON CONFLICT (event_id)
 *   DO NOTHING`, `entity_revisions` upserted only for a strictly higher revision), acks after COMMIT.
 * What it leaves out on purpose (not throughput-relevant): reconnection, quarantine table, metrics,
 * logs, health detail, Swagger. It is bench code, not a product.
 *
 * Run by bench/run.ts after a plain transpile (so no ts-node in its memory); by hand:
 *   node -r ts-node/register/transpile-only bench/reference/server.ts
 */
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { decide, entityKey, insertDecided, rowsOf, type BareDelivery } from './bare-store';
import { Receiver } from './receiver';

const env = process.env;
const PORT = Number(env.PORT ?? 3000);
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `${env.AMQP_PREFIX ?? 'reference'}.deliveries`;
const PREFETCH = Number(env.CONSUMER_PREFETCH ?? 500);
const BATCH_SIZE = Number(env.CONSUMER_BATCH_SIZE ?? 250);

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS webhook_events (
    event_id text PRIMARY KEY, name text NOT NULL, account_id bigint, api_space_id text,
    entity_type text NOT NULL, entity_id text, revision bigint, etag text, event_timestamp timestamptz,
    outcome text NOT NULL CHECK (outcome IN ('applied', 'stale', 'untracked')), payload jsonb NOT NULL,
    received_at timestamptz NOT NULL, delivery_id text NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());
  CREATE INDEX IF NOT EXISTS webhook_events_entity_idx ON webhook_events (api_space_id, entity_type, entity_id, revision);
  CREATE INDEX IF NOT EXISTS webhook_events_name_time_idx ON webhook_events (name, event_timestamp);
  CREATE INDEX IF NOT EXISTS webhook_events_delivery_idx ON webhook_events (delivery_id);
  CREATE TABLE IF NOT EXISTS entity_revisions (
    api_space_id text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL, revision bigint NOT NULL,
    event_id text NOT NULL, event_name text NOT NULL, event_timestamp timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (api_space_id, entity_type, entity_id));`;

// ---------------------------------------------------------------- RabbitMQ → PostgreSQL

let consumerStarted = false;
const receiver = new Receiver(QUEUE, () => consumerStarted);
const buffer: amqp.ConsumeMessage[] = [];
let draining: Promise<void> | null = null;
let consumeChannel: amqp.Channel;
const db = new Client({ connectionString: DATABASE_URL, application_name: 'bench-reference' });

/** The message as the shared row extraction reads a delivery. */
const deliveryOf = (message: amqp.ConsumeMessage): BareDelivery => ({
  content: message.content,
  deliveryId: String(message.properties.messageId),
  receivedAt: String(message.properties.headers?.['x-received-at'] ?? new Date().toISOString()),
});

/**
 * One transaction per batch: the stored revisions of the batch's entities are read first, so the
 * outcomes are decided against what is stored (bare-store.ts decides within the batch only), then
 * the same inserts as the bare floor.
 */
async function storeBatch(messages: amqp.ConsumeMessage[]): Promise<void> {
  const rows = rowsOf(messages.map(deliveryOf));
  const tracked = rows.filter((r) => r.entityId !== null && r.revision !== null);
  await db.query('BEGIN');
  try {
    const highest = new Map<string, number>();
    if (tracked.length > 0) {
      const current = await db.query<{ a: string; e: string; i: string; revision: string }>(
        `SELECT r.api_space_id AS a, r.entity_type AS e, r.entity_id AS i, r.revision
           FROM entity_revisions r JOIN unnest($1::text[], $2::text[], $3::text[]) AS t(a, e, i)
             ON r.api_space_id = t.a AND r.entity_type = t.e AND r.entity_id = t.i`,
        [
          tracked.map((r) => r.apiSpaceId ?? ''),
          tracked.map((r) => r.entityType),
          tracked.map((r) => r.entityId),
        ],
      );
      for (const row of current.rows) {
        highest.set(
          entityKey({ apiSpaceId: row.a, entityType: row.e, entityId: row.i }),
          Number(row.revision),
        );
      }
    }
    await insertDecided(db, rows, decide(rows, highest));
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function drain(): Promise<void> {
  draining ??= (async () => {
    while (buffer.length > 0) {
      const batch = buffer.splice(0, BATCH_SIZE);
      try {
        await storeBatch(batch);
        for (const message of batch) consumeChannel.ack(message); // only after COMMIT
      } catch (err) {
        console.error(`batch not stored: ${(err as Error).message}`);
        for (const message of batch) consumeChannel.nack(message, false, true);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  })().finally(() => (draining = null));
  return draining;
}

// ---------------------------------------------------------------- start / stop

async function main(): Promise<void> {
  await db.connect();
  await db.query(SCHEMA);

  await receiver.connect(AMQP_URL);

  const consumerConnection = await amqp.connect(AMQP_URL);
  consumeChannel = await consumerConnection.createChannel();
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
  console.error('reference failed to start:', err);
  process.exit(1);
});
