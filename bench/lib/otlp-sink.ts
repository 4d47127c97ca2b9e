import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Where the traced deployment exports its spans: an OTLP/HTTP endpoint on loopback that answers
 * every export 200 at once, so the bench measures what tracing costs the service, not what a
 * collector costs the machine. It only counts the spans of each protobuf export by name (a walk of
 * the wire format, nothing decoded), so that a run shows how many were sent: the SDK drops spans
 * silently when its queue is full, and a traced run that dropped them did less work.
 */
export async function startOtlpSink(): Promise<{
  url: string;
  exports: () => number;
  /** Spans received, by name (protobuf exports only). */
  spans: () => Map<string, number>;
  close: () => Promise<void>;
}> {
  let exports = 0;
  const spans = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      exports++;
      if (req.headers['content-type'] === 'application/x-protobuf') countSpans(Buffer.concat(chunks), spans);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    spans: () => spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * ExportTraceServiceRequest → resource_spans (1) → scope_spans (2) → spans (2) → name (5): each
 * span's name counted. Fields of other wire types are skipped by their length.
 */
function countSpans(body: Buffer, into: Map<string, number>): void {
  for (const resourceSpans of fields(body, 1)) {
    for (const scopeSpans of fields(resourceSpans, 2)) {
      for (const span of fields(scopeSpans, 2)) {
        const [name] = fields(span, 5);
        const key = name?.toString('utf8') ?? '';
        into.set(key, (into.get(key) ?? 0) + 1);
      }
    }
  }
}

/** The length-delimited values of field `wanted` in one protobuf message. */
function fields(message: Buffer, wanted: number): Buffer[] {
  const found: Buffer[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = message[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < message.length) {
    const tag = varint();
    const type = tag & 7;
    if (type === 0) varint();
    else if (type === 1) at += 8;
    else if (type === 5) at += 4;
    else if (type === 2) {
      const length = varint();
      if (tag >>> 3 === wanted) found.push(message.subarray(at, at + length));
      at += length;
    } else throw new Error(`OTLP sink: wire type ${type} not expected`);
  }
  return found;
}
