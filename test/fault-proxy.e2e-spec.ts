import { connect as amqpConnect } from 'amqplib';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client as PgClient } from 'pg';
import { AMQP_URL, runDatabaseUrl } from './support/env';
import { FaultProxy } from './support/fault-proxy';
import { waitFor } from './support/poll';

/** How long "nothing happens" is watched for: a bounded wait proving an absence, kept short. */
const SILENCE_MS = 400;

/** A local echo server of the test's own, so every byte the proxy forwards comes straight back. */
class EchoServer {
  readonly sockets = new Set<net.Socket>();
  accepted = 0;
  private readonly server = net.createServer((socket) => {
    this.accepted += 1;
    this.sockets.add(socket);
    socket.on('error', () => undefined); // resets are what these tests cause
    socket.on('close', () => this.sockets.delete(socket));
    socket.pipe(socket);
  });

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A raw client that records everything it sees, for asserting on data, FIN, RST and close. */
class Probe {
  data = Buffer.alloc(0);
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => (this.data = Buffer.concat([this.data, chunk])));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.closed = true));
    socket.on('error', (err) => (this.error = err));
  }

  static async open(port: number): Promise<Probe> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const probe = new Probe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return probe;
  }

  async roundTrip(payload: Buffer, timeoutMs = 15_000): Promise<Buffer> {
    const start = this.data.length;
    this.socket.write(payload);
    await waitFor(() => this.data.length >= start + payload.length, { timeoutMs, what: 'echo' });
    return this.data.subarray(start);
  }

  /** Something observable happened: data, FIN, close or error. */
  snapshot(): string {
    return JSON.stringify([this.data.length, this.ended, this.closed, this.error?.code]);
  }
}

/** The error code of a connection attempt, or 'connected'. */
async function connectOutcome(port: number): Promise<string> {
  try {
    const probe = await Probe.open(port);
    probe.socket.destroy();
    return 'connected';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Whether `promise` settles within `ms` (a bounded wait to prove that it does not). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, sleep(ms).then(() => false)]);
}

describe('FaultProxy against a local echo server', () => {
  const echo = new EchoServer();
  let proxy: FaultProxy;
  const probes: Probe[] = [];
  const open = async (): Promise<Probe> => {
    const probe = await Probe.open(proxy.port);
    probes.push(probe);
    return probe;
  };

  beforeAll(async () => {
    const port = await echo.start();
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port } });
  });
  beforeEach(async () => {
    await proxy.reset();
    await proxy.pass();
  });
  afterEach(() => {
    for (const probe of probes.splice(0)) probe.socket.destroy();
  });
  afterAll(async () => {
    await proxy.close();
    await echo.close();
  });

  it('forwards bytes unchanged both ways, a large payload too, and counts them', async () => {
    const before = proxy.stats;
    const probe = await open();
    expect((await probe.roundTrip(Buffer.from('hello'))).toString()).toBe('hello');
    const large = randomBytes(8 * 1024 * 1024);
    expect((await probe.roundTrip(large, 30_000)).equals(large)).toBe(true);

    const after = proxy.stats;
    expect(after.accepted - before.accepted).toBe(1);
    expect(after.bytesToTarget - before.bytesToTarget).toBe(large.length + 5);
    expect(after.bytesToClient - before.bytesToClient).toBe(large.length + 5);
    // A FIN is forwarded: the echo server ends too and both sides close cleanly.
    probe.socket.end();
    await waitFor(() => probe.ended && probe.closed, { what: 'clean close' });
    expect(probe.error).toBeUndefined();
    await waitFor(() => proxy.stats.open === 0, { what: 'no open connections' });
  });

  it('adds the configured latency each way, to an existing connection, keeping order under jitter', async () => {
    const probe = await open();
    await probe.roundTrip(Buffer.from('warm-up'));

    await proxy.latency(150);
    const started = Date.now();
    await probe.roundTrip(Buffer.from('ping'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300); // 150 ms to the target, 150 ms back

    await proxy.pass({ latencyMs: 5, jitterMs: 60 });
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.from(`<${i}>`));
    const start = probe.data.length;
    for (const chunk of chunks) probe.socket.write(chunk);
    const expected = Buffer.concat(chunks);
    await waitFor(() => probe.data.length >= start + expected.length, { what: 'jittered echo' });
    expect(probe.data.subarray(start).toString()).toBe(expected.toString());
  });

  it('blackhole: existing connections go silent, new ones are accepted but never answered', async () => {
    const existing = await open();
    await existing.roundTrip(Buffer.from('before'));
    const echoAccepted = echo.accepted;

    await proxy.blackhole();
    const dropped = proxy.stats.bytesDropped;
    const state = existing.snapshot();
    existing.socket.write('lost');
    const fresh = await open(); // the TCP handshake still completes
    fresh.socket.write('hello?');
    fresh.socket.end(); // even a FIN gets no answer
    await waitFor(() => proxy.stats.bytesDropped >= dropped + 10, { what: 'bytes dropped' });
    await sleep(SILENCE_MS);
    expect(existing.snapshot()).toBe(state); // no data, no FIN, no RST, no close
    expect(fresh.snapshot()).toBe(JSON.stringify([0, false, false, undefined]));
    expect(echo.accepted).toBe(echoAccepted); // the target never heard of the new one

    // Back to pass: the blackholed connections stay dead, new ones work.
    await proxy.pass();
    existing.socket.write('still lost');
    const later = await open();
    expect((await later.roundTrip(Buffer.from('after'))).toString()).toBe('after');
    expect(existing.snapshot()).toBe(state);
  });

  it('reset: current connections see ECONNRESET; with the flag new ones are reset at once', async () => {
    const probe = await open();
    await probe.roundTrip(Buffer.from('x'));
    const blackholed = await open();
    await proxy.blackhole();
    await proxy.reset();
    await waitFor(() => probe.error?.code === 'ECONNRESET', { what: 'ECONNRESET' });
    await waitFor(() => blackholed.error?.code === 'ECONNRESET', { what: 'blackholed reset' });
    await waitFor(() => proxy.stats.open === 0 && echo.sockets.size === 0, { what: 'target side reset' });

    await proxy.reset({ newConnections: true });
    // The RST can come before or after the client has seen its handshake complete.
    const doomed = net.connect({ host: '127.0.0.1', port: proxy.port });
    let code: string | undefined;
    doomed.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
    await waitFor(() => code === 'ECONNRESET', { what: 'new connection reset' });

    await proxy.pass();
    expect((await (await open()).roundTrip(Buffer.from('ok'))).toString()).toBe('ok');
  });

  it('refuse: connections are refused until pass(), on the same port', async () => {
    const existing = await open();
    const port = proxy.port;
    await proxy.refuse();
    expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    expect((await existing.roundTrip(Buffer.from('kept'))).toString()).toBe('kept');
    await proxy.pass();
    expect(proxy.port).toBe(port);
    expect((await (await open()).roundTrip(Buffer.from('back'))).toString()).toBe('back');
  });

  it('survives either side dying: a target RST reaches the client, a client RST reaches the target', async () => {
    const first = await open();
    await first.roundTrip(Buffer.from('a'));
    for (const socket of echo.sockets) socket.resetAndDestroy();
    await waitFor(() => first.error?.code === 'ECONNRESET', { what: 'target reset forwarded' });

    const second = await open();
    await second.roundTrip(Buffer.from('b'));
    second.socket.resetAndDestroy();
    await waitFor(() => echo.sockets.size === 0 && proxy.stats.open === 0, {
      what: 'client reset forwarded',
    });
    expect((await (await open()).roundTrip(Buffer.from('c'))).toString()).toBe('c');
  });
});

describe('FaultProxy lifecycle', () => {
  it('resets clients when the target is down, and close() tears everything down', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: closedPort } });
    const probe = await Probe.open(proxy.port);
    await waitFor(() => probe.error?.code === 'ECONNRESET', { what: 'refused target as a reset' });

    const echo = new EchoServer();
    const target = { host: '127.0.0.1', port: await echo.start() };
    const second = await FaultProxy.start({ target });
    const client = await Probe.open(second.port);
    await client.roundTrip(Buffer.from('x'));
    await second.latency(1000); // a queued chunk holds a timer: close() must clear it
    client.socket.write('pending');
    await second.close();
    await waitFor(() => client.closed, { what: 'client closed by close()' });
    expect(await connectOutcome(second.port)).toBe('ECONNREFUSED');
    await expect(second.pass()).rejects.toThrow('closed');
    await proxy.close();
    await echo.close();
  });
});

describe('FaultProxy in front of the real RabbitMQ and PostgreSQL', () => {
  it('RabbitMQ: amqplib connects in pass mode; in blackhole a new connect does not complete', async () => {
    const { hostname, port } = new URL(AMQP_URL);
    const proxy = await FaultProxy.start({ target: { host: hostname, port: Number(port || 5672) } });
    try {
      const model = await amqpConnect(`amqp://guest:guest@127.0.0.1:${proxy.port}`);
      const channel = await model.createChannel();
      await channel.close();
      await model.close();

      await proxy.blackhole();
      const attempt = amqpConnect(`amqp://guest:guest@127.0.0.1:${proxy.port}`);
      expect(await settlesWithin(attempt, 2000)).toBe(false);
      await proxy.reset(); // frees the hanging attempt, which then fails
      await expect(attempt).rejects.toThrow();
    } finally {
      await proxy.close();
    }
  });

  it('PostgreSQL: SELECT 1 through the proxy; in blackhole a query does not answer', async () => {
    const url = new URL(runDatabaseUrl());
    const proxy = await FaultProxy.start({ target: { host: url.hostname, port: Number(url.port || 5432) } });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const client = new PgClient({ connectionString: url.toString() });
    client.on('error', () => undefined); // the reset below is expected
    try {
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      await proxy.blackhole();
      const query = client.query('SELECT 1 AS one');
      expect(await settlesWithin(query, 2000)).toBe(false);
      await proxy.reset();
      await expect(query).rejects.toThrow();
    } finally {
      await proxy.close();
    }
  });
});
