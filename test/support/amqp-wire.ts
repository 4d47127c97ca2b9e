import { once } from 'node:events';
import net from 'node:net';

/** One header as it travelled: its AMQP type tag and its value (64-bit integers exact, as bigint). */
export interface WireHeader {
  type: string;
  value: unknown;
}

const FRAME_HEADER = 2;
const FRAME_END = 0xce;
const FIXED: Record<string, number> = {
  t: 1,
  b: 1,
  B: 1,
  s: 2,
  u: 2,
  I: 4,
  i: 4,
  f: 4,
  l: 8,
  d: 8,
  T: 8,
  D: 5,
  V: 0,
};

/**
 * A TCP tap between an AMQP client and RabbitMQ that reads what the broker sends: for every content
 * header frame, the `headers` table with the type tag of each field as it is on the wire. Client
 * libraries hide those types (amqplib reads byte, short, int and long all as a number), so a test of
 * the feed contract reads them here. Bytes pass unchanged in both directions.
 */
export class AmqpWireTap {
  /** Each message's headers, in the order the broker sent them. */
  readonly messages: Record<string, WireHeader>[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<AmqpWireTap> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const tap = new AmqpWireTap(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => tap.relay(client, target));
    return tap;
  }

  url(user = 'guest', password = 'guest'): string {
    return `amqp://${user}:${password}@127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private relay(client: net.Socket, target: { host: string; port: number }): void {
    const broker = net.connect(target.port, target.host);
    this.sockets.add(client).add(broker);
    let pending: Buffer = Buffer.alloc(0);
    client.pipe(broker);
    broker.on('data', (chunk: Buffer) => {
      client.write(chunk);
      pending = this.readFrames(Buffer.concat([pending, chunk]));
    });
    const end = () => {
      client.destroy();
      broker.destroy();
    };
    client.on('error', end).on('close', end);
    broker.on('error', end).on('close', end);
  }

  /** Reads every whole frame of `bytes`; returns the incomplete rest. */
  private readFrames(bytes: Buffer): Buffer {
    let offset = 0;
    while (bytes.length - offset >= 8) {
      const size = bytes.readUInt32BE(offset + 3);
      if (bytes.length - offset < 8 + size) break;
      if (bytes[offset + 7 + size] !== FRAME_END) throw new Error('AMQP frame without its end octet');
      if (bytes[offset] === FRAME_HEADER)
        this.messages.push(headersOf(bytes.subarray(offset + 7, offset + 7 + size)));
      offset += 8 + size;
    }
    return bytes.subarray(offset);
  }
}

/** The headers of a content header payload: class (2), weight (2), body size (8), flags (2), properties. */
function headersOf(payload: Buffer): Record<string, WireHeader> {
  const flags = payload.readUInt16BE(12);
  let offset = 14;
  for (const bit of [15, 14]) if (flags & (1 << bit)) offset += 1 + payload[offset]; // content type, encoding
  if (!(flags & (1 << 13))) return {};
  const size = payload.readUInt32BE(offset);
  return readTable(payload.subarray(offset + 4, offset + 4 + size));
}

function readTable(table: Buffer): Record<string, WireHeader> {
  const fields: Record<string, WireHeader> = {};
  let offset = 0;
  while (offset < table.length) {
    const nameLength = table[offset];
    const name = table.toString('utf8', offset + 1, offset + 1 + nameLength);
    offset += 1 + nameLength;
    const type = String.fromCharCode(table[offset]);
    offset += 1;
    let length = FIXED[type];
    let value: unknown;
    if (length === undefined) {
      // S, x, F, A: a 32-bit length, then that many bytes.
      length = 4 + table.readUInt32BE(offset);
      value =
        type === 'S'
          ? table.toString('utf8', offset + 4, offset + length)
          : table.subarray(offset + 4, offset + length);
    } else if (type === 'l') value = table.readBigInt64BE(offset);
    else if (type === 't') value = table[offset] !== 0;
    else value = length ? table.subarray(offset, offset + length) : null;
    fields[name] = { type, value };
    offset += length;
  }
  return fields;
}
