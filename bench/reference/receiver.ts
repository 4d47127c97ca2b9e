/**
 * The HTTP half both references share (bare.ts, the floor, and server.ts, the like-for-like one):
 * raw body, timing-safe hex HMAC-SHA1 check of `X-Comapi-Signature`, JSON.parse to count the
 * envelopes, the raw bytes published as ONE persistent message per delivery on a confirm channel to a
 * durable quorum queue, and 200 `{"accepted":n,"quarantined":0}` only after the broker's confirm;
 * 401 on a bad signature, 413 past BODY_LIMIT_BYTES, 503 when the broker is away or does not confirm
 * within PUBLISH_TIMEOUT_MS. A malformed body is kept too (published), as the contract asks, then 400.
 * Each message carries the headers both consumers read: x-received-at and x-item-count.
 */
import * as amqp from 'amqplib';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

const env = process.env;
const SECRETS = (env.WEBHOOK_SECRETS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => Buffer.from(s));
const BODY_LIMIT = Number(env.BODY_LIMIT_BYTES ?? 10 * 1024 * 1024);
const PUBLISH_TIMEOUT_MS = Number(env.PUBLISH_TIMEOUT_MS ?? 5000);

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

/** The receiving half of a reference: its HTTP server and the confirm channel it publishes on. */
export class Receiver {
  private channel: amqp.ConfirmChannel | null = null;
  private connection: amqp.ChannelModel | null = null;
  private readonly server: Server;

  /** `ready`: what else /health waits for (the reference's consumer). */
  constructor(
    private readonly queue: string,
    private readonly ready: () => boolean,
  ) {
    if (SECRETS.length === 0) throw new Error('WEBHOOK_SECRETS is required');
    this.server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/webhook') this.onWebhook(req, res);
      else if (req.method === 'GET' && req.url?.startsWith('/health'))
        answer(res, this.channel && this.ready() ? 200 : 503, '{}');
      else answer(res, 404, '{"message":"not found"}');
    });
  }

  /** Its own connection and confirm channel; the durable quorum queue asserted. */
  async connect(amqpUrl: string): Promise<void> {
    this.connection = await amqp.connect(amqpUrl);
    const channel = await this.connection.createConfirmChannel();
    await channel.assertQueue(this.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    this.channel = channel;
  }

  listen(port: number): void {
    this.server.listen(port, '0.0.0.0');
  }

  /** Stops taking requests (in-flight ones finish). */
  stopListening(): void {
    this.server.close();
    this.server.closeIdleConnections();
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }

  private publish(body: Buffer, count: number, receivedAt: Date): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('broker unavailable'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no confirm in time')), PUBLISH_TIMEOUT_MS);
      channel.sendToQueue(
        this.queue,
        body,
        {
          persistent: true,
          messageId: randomUUID(),
          timestamp: Math.floor(receivedAt.getTime() / 1000),
          headers: { 'x-received-at': receivedAt.toISOString(), 'x-item-count': count },
        },
        (err) => {
          clearTimeout(timer);
          if (err) reject(new Error('nacked'));
          else resolve();
        },
      );
    });
  }

  private onWebhook(req: IncomingMessage, res: ServerResponse): void {
    const receivedAt = new Date();
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
      this.publish(body, count ?? 1, receivedAt).then(
        () =>
          count === null
            ? answer(res, 400, '{"message":"not a JSON object or array"}')
            : answer(res, 200, `{"accepted":${count},"quarantined":0}`),
        () => answer(res, 503, '{"message":"broker unavailable"}', { 'Retry-After': '5' }),
      );
    });
  }
}
