import * as http from 'node:http';
import * as https from 'node:https';
import type { AttemptResult } from './retry.schedule';

/** Enough of an answer to read `{"accepted", "quarantined"}` or an error; the rest is drained. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs signed bodies to `<base>/webhook` over keep-alive connections (one pool per run, at most
 * `maxSockets` open), each exchange bounded by `timeoutMs` from the first byte sent to the last byte
 * of the answer, as Dotdigital bounds it.
 */
export class WebhookSender {
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(baseUrl: string, maxSockets: number) {
    this.target = new URL('webhook', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.transport = this.target.protocol === 'https:' ? https : http;
    const AgentClass = this.target.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets });
  }

  get url(): string {
    return this.target.toString();
  }

  post(body: Buffer, signature: string, timeoutMs: number): Promise<AttemptResult> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const request = this.transport.request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          'X-Comapi-Signature': signature,
          'User-Agent': 'omnichannel-simulator',
        },
      });
      const timer = setTimeout(() => {
        settle({ kind: 'timeout' });
        // Destroying the socket is what a sender that gave up does; the service sees a reset.
        request.destroy();
      }, timeoutMs);
      request.on('error', (err: NodeJS.ErrnoException) =>
        settle({ kind: 'error', message: err.code ?? err.message }),
      );
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('error', (err: NodeJS.ErrnoException) =>
          settle({ kind: 'error', message: err.code ?? err.message }),
        );
        response.on('end', () => {
          const deliveryId = response.headers['x-delivery-id'];
          settle({
            kind: 'answer',
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
            deliveryId: typeof deliveryId === 'string' ? deliveryId : undefined,
          });
        });
      });
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
