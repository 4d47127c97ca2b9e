/**
 * The bare reference the benchmark compares the service with: the same contract with the least code
 * (node:http + crypto + amqplib + pg, no framework), and the same durability guarantees:
 * - HTTP: raw body, timing-safe hex HMAC-SHA1 check of `X-Comapi-Signature`, JSON.parse to count the
 *   envelopes, the raw bytes published as ONE persistent message per delivery on a confirm channel to a
 *   durable quorum queue, and 200 `{"accepted":n,"quarantined":0}` only after the broker's confirm;
 *   401 on a bad signature, 413 past BODY_LIMIT, 503 when the broker is away or does not confirm in time.
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
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Client } from 'pg';
import { decide, entityKey, insertDecided, rowsOf, type BareDelivery } from './bare-store';

const env = process.env;
const PORT = Number(env.PORT ?? 3000);
const SECRETS = (env.WEBHOOK_SECRETS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => Buffer.from(s));
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `${env.AMQP_PREFIX ?? 'reference'}.deliveries`;
const PREFETCH = Number(env.CONSUMER_PREFETCH ?? 500);
const BATCH_SIZE = Number(env.CONSUMER_BATCH_SIZE ?? 250);
const BODY_LIMIT = Number(env.BODY_LIMIT_BYTES ?? 10 * 1024 * 1024);
const PUBLISH_TIMEOUT_MS = Number(env.PUBLISH_TIMEOUT_MS ?? 5000);
if (SECRETS.length === 0) throw new Error('WEBHOOK_SECRETS is required');

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

// ---------------------------------------------------------------- HTTP → RabbitMQ

let publishChannel: amqp.ConfirmChannel | null = null;

function verify(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{40}$/.test(header)) return false;
  const given = Buffer.from(header, 'hex');
  let ok = false;
  for (const secret of SECRETS)
    ok = timingSafeEqual(createHmac('sha1', secret).update(body).digest(), given) || ok;
  return ok;
}

function answer(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function publish(body: Buffer, deliveryId: string, receivedAt: Date): Promise<void> {
  const channel = publishChannel;
  if (!channel) return Promise.reject(new Error('broker unavailable'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no confirm in time')), PUBLISH_TIMEOUT_MS);
    channel.sendToQueue(
      QUEUE,
      body,
      {
        persistent: true,
        messageId: deliveryId,
        timestamp: Math.floor(receivedAt.getTime() / 1000),
        headers: { 'x-received-at': receivedAt.toISOString() },
      },
      (err) => {
        clearTimeout(timer);
        if (err) reject(new Error('nacked'));
        else resolve();
      },
    );
  });
}

function countEnvelopes(body: Buffer): number | null {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (Array.isArray(value)) return value.length;
    return typeof value === 'object' && value !== null ? 1 : null;
  } catch {
    return null;
  }
}

async function onWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = new Date();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) return answer(res, 413, { message: 'body too large' }, { Connection: 'close' });
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, size);
  if (!verify(body, req.headers['x-comapi-signature'])) return answer(res, 401, { message: 'bad signature' });
  const count = countEnvelopes(body);
  try {
    await publish(body, randomUUID(), receivedAt); // kept even when malformed, as the contract asks
  } catch {
    return answer(res, 503, { message: 'broker unavailable' }, { 'Retry-After': '5' });
  }
  if (count === null) return answer(res, 400, { message: 'not a JSON object or array' });
  answer(res, 200, { accepted: count, quarantined: 0 });
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhook')
    onWebhook(req, res).catch(() => answer(res, 500, { message: 'internal error' }));
  else if (req.method === 'GET' && req.url?.startsWith('/health'))
    answer(res, publishChannel && consumerStarted ? 200 : 503, { ready: Boolean(publishChannel) });
  else answer(res, 404, { message: 'not found' });
});

// ---------------------------------------------------------------- RabbitMQ → PostgreSQL

let consumerStarted = false;
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

  const publisherConnection = await amqp.connect(AMQP_URL);
  publishChannel = await publisherConnection.createConfirmChannel();
  await publishChannel.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });

  const consumerConnection = await amqp.connect(AMQP_URL);
  consumeChannel = await consumerConnection.createChannel();
  await consumeChannel.prefetch(PREFETCH);
  const { consumerTag } = await consumeChannel.consume(QUEUE, (message) => {
    if (!message) return;
    buffer.push(message);
    void drain();
  });
  consumerStarted = true;
  server.listen(PORT, '0.0.0.0');

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeIdleConnections();
    void (async () => {
      await consumeChannel.cancel(consumerTag).catch(() => undefined);
      await (draining ?? Promise.resolve());
      await consumerConnection.close().catch(() => undefined);
      await publisherConnection.close().catch(() => undefined);
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
