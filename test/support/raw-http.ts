import { once } from 'node:events';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';

/** One HTTP answer as it came off the wire (or through node:http). */
export interface WireAnswer {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The answers in `bytes`, in order: status line, headers, then a body by Content-Length, chunked
 * encoding, or (neither) everything up to the end. 1xx answers have no body. Enough of HTTP/1.1
 * for what a Node server sends; a truncated last answer is dropped.
 */
export function parseAnswers(bytes: Buffer): WireAnswer[] {
  const answers: WireAnswer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const [statusLine, ...lines] = bytes.toString('latin1', at, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    at = headEnd + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status >= 100 && status < 200) {
      // no body
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (at + length > bytes.length) break;
      body = bytes.subarray(at, at + length);
      at += length;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at);
        if (lineEnd === -1) return answers;
        const size = parseInt(bytes.toString('latin1', at, lineEnd), 16);
        at = lineEnd + 2;
        if (size === 0) {
          at = bytes.indexOf('\r\n', at) + 2; // the (empty) trailer section
          break;
        }
        chunks.push(bytes.subarray(at, at + size));
        at += size + 2;
      }
      body = Buffer.concat(chunks);
    } else {
      body = bytes.subarray(at);
      at = bytes.length;
    }
    answers.push({ status, headers, body });
  }
  return answers;
}

export interface RawExchange {
  answers: WireAnswer[];
  /** Everything the server sent. */
  bytes: Buffer;
  /** The server closed the connection (rather than our timeout ending the wait). */
  closedByServer: boolean;
}

/**
 * Writes `request` (exact bytes, nothing added) on a fresh TCP connection and reads until the server
 * closes it or `answers` complete answers arrived (then closes it), or `timeoutMs` passes.
 */
export async function rawExchange(
  port: number,
  request: Buffer,
  { answers: wanted = Infinity, timeoutMs = 10_000 }: { answers?: number; timeoutMs?: number } = {},
): Promise<RawExchange> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  let closedByServer = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(finish, timeoutMs);
    function finish() {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    }
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const complete = parseAnswers(Buffer.concat(chunks)).filter((a) => a.status >= 200).length;
      if (complete >= wanted) finish();
    });
    socket.on('error', finish);
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.write(request);
  });
  const bytes = Buffer.concat(chunks);
  return { answers: parseAnswers(bytes), bytes, closedByServer };
}

export interface HttpSend {
  method?: string;
  path: string;
  /** Sent exactly: nothing is added but Host (and Content-Length unless chunked). An array repeats a header. */
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
  /** Stream the body in pieces of this many bytes without Content-Length. */
  chunkBytes?: number;
  /** Send `Expect: 100-continue` and the body only once the server said 100 Continue. */
  expectContinue?: boolean;
}

/** A request through node:http with exactly the headers given; resolves with the whole answer. */
export function httpSend(base: string, options: HttpSend): Promise<WireAnswer & { continued: boolean }> {
  const { method = 'POST', path, headers = {}, body, chunkBytes, expectContinue = false } = options;
  const all: OutgoingHttpHeaders = { ...headers };
  if (body && chunkBytes === undefined) all['Content-Length'] = body.length;
  if (expectContinue) all.Expect = '100-continue';
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = httpRequest(new URL(path, base), { method, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers))
          if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), continued });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    const writeBody = () => {
      if (body && chunkBytes !== undefined)
        for (let i = 0; i < body.length; i += chunkBytes) req.write(body.subarray(i, i + chunkBytes));
      else if (body) req.write(body);
      req.end();
    };
    if (expectContinue) {
      req.on('continue', () => {
        continued = true;
        writeBody();
      });
      req.flushHeaders();
    } else writeBody();
  });
}

/**
 * A connection that sends `head` (e.g. a request line and some headers) and then nothing more.
 * `closed` resolves with the time (ms since `opened`: connected and `head` written, when the server
 * can first see the request begin) the server closed it.
 */
export class StalledConnection {
  readonly socket: net.Socket;
  opened = Date.now();
  readonly closed: Promise<number>;
  received: Buffer = Buffer.alloc(0);

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(Date.now() - this.opened)));
    socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    socket.on('error', () => undefined);
  }

  static async open(port: number, head: Buffer): Promise<StalledConnection> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const connection = new StalledConnection(socket);
    await once(socket, 'connect');
    connection.opened = Date.now();
    socket.write(head);
    return connection;
  }

  get isClosed(): boolean {
    return this.socket.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
