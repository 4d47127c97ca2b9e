import { once } from 'node:events';
import net from 'node:net';

export type ProxyTarget = { host: string; port: number };
export type PassOptions = { latencyMs?: number; jitterMs?: number };
export type FaultMode = 'pass' | 'blackhole' | 'reset' | 'refuse';
export type FaultProxyStats = FaultProxy['stats'];

/** RST where possible; a still-connecting socket has nothing to reset and is simply dropped. */
function hardReset(socket: net.Socket): void {
  if (socket.connecting) socket.destroy();
  else if (!socket.destroyed) socket.resetAndDestroy();
}

/** One direction of a connection. Chunks wait here until due, so added latency never reorders bytes. */
class Pipe {
  private readonly queue: { at: number; chunk: Buffer | null }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly onWrite: (bytes: number) => void,
  ) {}

  /** `null` is the sender's FIN, delivered after the data before it. */
  push(chunk: Buffer | null, delayMs: number): void {
    this.queue.push({ at: Date.now() + delayMs, chunk });
    if (!this.timer) this.flush();
  }

  /** Forgets what is queued (lost in the network); returns how many bytes that was. */
  drop(): number {
    clearTimeout(this.timer);
    this.timer = undefined;
    const bytes = this.queue.reduce((sum, item) => sum + (item.chunk?.length ?? 0), 0);
    this.queue.length = 0;
    this.from.resume(); // a blackhole keeps reading (and dropping) even if we paused for backpressure
    return bytes;
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    // Strictly FIFO: a chunk whose jitter makes it due earlier still waits behind the one before it,
    // so a byte stream is never reordered. Date.now(), not the timer, decides what is due.
    while (this.queue.length > 0 && this.queue[0].at <= Date.now()) {
      const { chunk } = this.queue.shift()!;
      if (!this.to.writable) continue; // that side is gone; its own close handler deals with it
      if (chunk === null) this.to.end();
      else {
        this.onWrite(chunk.length);
        // Backpressure: stop reading the sender until the receiver drains, so a large payload
        // does not pile up in memory.
        if (!this.to.write(chunk) && !this.waitingForDrain) {
          this.waitingForDrain = true;
          this.from.pause();
          this.to.once('drain', () => {
            this.waitingForDrain = false;
            this.from.resume();
          });
        }
      }
    }
    if (this.queue.length > 0) this.timer = setTimeout(this.flush, this.queue[0].at - Date.now());
  };
}

interface Link {
  client: net.Socket;
  /** Absent for connections accepted while blackholed: they never reach the target. */
  upstream?: net.Socket;
  toTarget?: Pipe;
  toClient?: Pipe;
  /** Blackholed: reads and drops, forwards nothing, propagates neither FIN nor RST. Never revived. */
  dead: boolean;
}

/**
 * A TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target and, on demand, delays,
 * silently drops (blackhole), resets or refuses, which a stopped server alone cannot simulate.
 * Await each mode switch; they apply to existing and new connections.
 */
export class FaultProxy {
  port = 0;
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private mode: FaultMode = 'pass';
  private latencyMs = 0;
  private jitterMs = 0;
  private closed = false;
  private readonly counters = { accepted: 0, bytesToTarget: 0, bytesToClient: 0, bytesDropped: 0 };

  private constructor(private readonly target: ProxyTarget) {}

  static async start(options: { target: ProxyTarget; listenPort?: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(options.target);
    await proxy.listen(options.listenPort ?? 0);
    return proxy;
  }

  /**
   * `open`: connections with either side (client or target) not yet closed. `bytesDropped`: read and
   * thrown away by blackholed connections, including what was queued at the switch.
   */
  get stats() {
    return { ...this.counters, open: this.links.size, mode: this.mode };
  }

  async pass({ latencyMs = 0, jitterMs = 0 }: PassOptions = {}): Promise<void> {
    this.latencyMs = latencyMs;
    this.jitterMs = jitterMs;
    await this.setMode('pass');
  }

  async latency(ms: number, jitterMs = 0): Promise<void> {
    await this.pass({ latencyMs: ms, jitterMs });
  }

  async blackhole(): Promise<void> {
    for (const link of this.links) this.kill(link);
    await this.setMode('blackhole');
  }

  /**
   * RSTs every current connection (blackholed ones too, which also frees them). With
   * `newConnections`, later ones are reset on accept until another mode is chosen; without it the
   * mode stays as it was (a one-off reset), except that a `reset` mode returns to `pass`.
   */
  async reset({ newConnections = false }: { newConnections?: boolean } = {}): Promise<void> {
    for (const link of this.links) this.teardown(link, true);
    await this.setMode(newConnections ? 'reset' : this.mode === 'reset' ? 'pass' : this.mode);
  }

  /** Stops listening: new connections are refused. Existing ones keep forwarding (reset() them too). */
  async refuse(): Promise<void> {
    await this.setMode('refuse');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const server = this.server;
    this.server = undefined;
    const sockets = [...this.links].flatMap((link) => [link.client, link.upstream]);
    const closing = sockets
      .filter((socket): socket is net.Socket => !!socket && !socket.closed)
      .map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const link of this.links) this.teardown(link, false);
    if (server) closing.push(new Promise((resolve) => server.close(resolve)));
    await Promise.all(closing);
  }

  private async setMode(mode: FaultMode): Promise<void> {
    if (this.closed) throw new Error('FaultProxy is closed');
    this.mode = mode;
    if (mode === 'refuse') {
      // Closing the listening socket refuses at once; accepted connections are not affected.
      this.server?.close();
      this.server = undefined;
    } else if (!this.server) await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    // allowHalfOpen: a FIN is forwarded (or, blackholed, swallowed) by us, never answered by Node.
    // noDelay (both sides): Nagle in the middle would add its own delays to small request/replies.
    const options = { allowHalfOpen: true, noDelay: true };
    const server = net.createServer(options, (socket) => this.accept(socket));
    await once(server.listen(port, '127.0.0.1'), 'listening'); // rejects on 'error' (port taken)
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    this.counters.accepted += 1;
    client.on('error', () => undefined); // the 'close' handler propagates it
    if (this.mode === 'reset' || this.mode === 'refuse' || this.closed) return hardReset(client);
    const link: Link = { client, dead: this.mode === 'blackhole' };
    this.links.add(link);
    if (!link.dead) {
      const upstream = net.connect({ ...this.target, allowHalfOpen: true, noDelay: true });
      upstream.on('error', () => undefined);
      link.upstream = upstream;
      link.toTarget = new Pipe(client, upstream, (n) => (this.counters.bytesToTarget += n));
      link.toClient = new Pipe(upstream, client, (n) => (this.counters.bytesToClient += n));
    }
    this.wire(link, client, link.toTarget);
    if (link.upstream) this.wire(link, link.upstream, link.toClient);
  }

  private wire(link: Link, from: net.Socket, pipe: Pipe | undefined): void {
    from.on('data', (chunk: Buffer) => {
      if (link.dead || !pipe) this.counters.bytesDropped += chunk.length;
      else pipe.push(chunk, this.delay());
    });
    from.on('end', () => {
      if (!link.dead) pipe?.push(null, this.delay());
    });
    from.on('close', (hadError) => {
      // A transmission error (RST, refused target) on one side becomes an RST on the other.
      if (hadError && !link.dead) this.teardown(link, true);
      if ([link.client, link.upstream].every((socket) => !socket || socket.closed)) {
        this.links.delete(link);
        this.silence(link); // no latency timer outlives its connection
      }
    });
  }

  /** Drops both directions' queues and timers; returns the bytes lost. */
  private silence(link: Link): number {
    return (link.toTarget?.drop() ?? 0) + (link.toClient?.drop() ?? 0);
  }

  private kill(link: Link): void {
    link.dead = true;
    this.counters.bytesDropped += this.silence(link);
  }

  private teardown(link: Link, reset: boolean): void {
    this.silence(link);
    for (const socket of [link.client, link.upstream]) {
      if (reset && socket) hardReset(socket);
      else socket?.destroy();
    }
  }

  private delay(): number {
    return this.latencyMs + Math.random() * this.jitterMs;
  }
}
