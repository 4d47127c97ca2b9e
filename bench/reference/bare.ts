/**
 * The bare floor the benchmark measures the service against: the contract with the least code and
 * none of the service's design costs (node:http + crypto + amqplib + pg, no framework).
 * - HTTP (the bare receiver): raw body, timing-safe hex HMAC-SHA1 of `X-Comapi-Signature`, JSON.parse
 *   to count the envelopes, the raw bytes published as ONE persistent message per delivery on a
 *   confirm channel to a durable quorum queue, 200 `{"accepted":n,"quarantined":0}` only after that
 *   message's confirm; 401 on a bad signature, 413 past BODY_LIMIT_BYTES, 503 without a confirm.
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
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Client } from 'pg';
import { BARE_SCHEMA, storeBare, type Row } from './bare-store';

const env = process.env;
const PORT = Number(env.PORT ?? 3000);
const SECRETS = (env.WEBHOOK_SECRETS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => Buffer.from(s));
const DATABASE_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AMQP_URL = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `${env.AMQP_PREFIX ?? 'bare'}.deliveries`;
const PREFETCH = Number(env.CONSUMER_PREFETCH ?? 100);
const BATCH_SIZE = Number(env.CONSUMER_BATCH_SIZE ?? 100);
const MAX_EVENTS_PER_BATCH = 1000;
const BODY_LIMIT = Number(env.BODY_LIMIT_BYTES ?? 10 * 1024 * 1024);
const PUBLISH_TIMEOUT_MS = Number(env.PUBLISH_TIMEOUT_MS ?? 5000);
const FEED_EXCHANGE = env.FEED_EXCHANGE;
if (SECRETS.length === 0) throw new Error('WEBHOOK_SECRETS is required');

let publishChannel: amqp.ConfirmChannel | null = null;
let consumerStarted = false;

function verify(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !/^[0-9a-fA-F]{40}$/.test(header)) return false;
  const given = Buffer.from(header, 'hex');
  let ok = false;
  for (const secret of SECRETS)
    ok = timingSafeEqual(createHmac('sha1', secret).update(body).digest(), given) || ok;
  return ok;
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
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

function publish(body: Buffer, count: number): Promise<void> {
  const channel = publishChannel;
  if (!channel) return Promise.reject(new Error('broker unavailable'));
  const deliveryId = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no confirm in time')), PUBLISH_TIMEOUT_MS);
    channel.sendToQueue(
      QUEUE,
      body,
      {
        persistent: true,
        messageId: deliveryId,
        headers: { 'x-received-at': new Date().toISOString(), 'x-item-count': count },
      },
      (err) => {
        clearTimeout(timer);
        if (err) reject(new Error('nacked'));
        else resolve();
      },
    );
  });
}

function onWebhook(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= BODY_LIMIT) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > BODY_LIMIT) return answer(res, 413, '{"message":"body too large"}');
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    if (!verify(body, req.headers['x-comapi-signature']))
      return answer(res, 401, '{"message":"bad signature"}');
    const count = countEnvelopes(body);
    publish(body, count ?? 1).then(
      () =>
        count === null
          ? answer(res, 400, '{"message":"not a JSON object or array"}')
          : answer(res, 200, `{"accepted":${count},"quarantined":0}`),
      () => answer(res, 503, '{"message":"broker unavailable"}', { 'Retry-After': '5' }),
    );
  });
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/webhook') onWebhook(req, res);
  else if (req.method === 'GET' && req.url?.startsWith('/health'))
    answer(res, publishChannel && consumerStarted ? 200 : 503, '{}');
  else answer(res, 404, '{"message":"not found"}');
});

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

  const publisherConnection = await amqp.connect(AMQP_URL);
  publishChannel = await publisherConnection.createConfirmChannel();
  await publishChannel.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });

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
  console.error('bare floor failed to start:', err);
  process.exit(1);
});
