import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request a destination received, with how it was answered. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  startedAt: number;
  endedAt: number;
  status: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Waits this long before answering (a slow receiver). */
  delayMs?: number;
}

/** Decides the answer to each request; `index` counts requests from 0. */
export type Responder = (request: { headers: IncomingHttpHeaders; body: string; index: number }) => Answer;

/**
 * An HTTP endpoint inside the test, standing for a customer's destination: records every request
 * (headers, exact body, when it started and was answered) and the most requests it held at once.
 */
export class DestinationReceiver {
  readonly requests: ReceivedRequest[] = [];
  maxConcurrent = 0;
  private concurrent = 0;
  private count = 0;

  private constructor(
    private readonly server: Server,
    public respond: Responder,
  ) {}

  static async start(respond: Responder = () => ({ status: 204 })): Promise<DestinationReceiver> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on(
        'end',
        () => void receiver.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks), res),
      );
    });
    const receiver = new DestinationReceiver(server, respond);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Requests answered 2xx, in the order they were answered. */
  get delivered(): ReceivedRequest[] {
    return this.requests
      .filter((r) => r.status >= 200 && r.status < 300)
      .sort((a, b) => a.endedAt - b.endedAt);
  }

  deliveredIds(): string[] {
    return this.delivered.map((r) => String(r.headers['webhook-id']));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    bytes: Buffer,
    res: import('node:http').ServerResponse,
  ): Promise<void> {
    const startedAt = Date.now();
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    const body = bytes.toString('utf8');
    const answer = this.respond({ headers, body, index: this.count++ });
    if (answer.delayMs) await sleep(answer.delayMs);
    this.concurrent--;
    this.requests.push({
      method,
      path,
      headers,
      body,
      startedAt,
      endedAt: Date.now(),
      status: answer.status,
    });
    res.writeHead(answer.status, answer.headers ?? {});
    res.end();
  }
}
