import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { FaultProxyStats } from '../support/fault-proxy';
import type { ProxyCommand, ProxyReply } from './proxy-host';

/** A command without its id (each member of the union on its own). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Command = WithoutId<ProxyCommand>;

/** The child process that hosts the run's FaultProxy instances (proxy-host.ts). */
export class ProxyHost {
  private readonly pending = new Map<number, { resolve: (r: ProxyReply) => void }>();
  private next = 1;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: ProxyReply) => {
      this.pending.get(reply.id)?.resolve(reply);
      this.pending.delete(reply.id);
    });
    child.on('exit', () => {
      for (const { resolve } of this.pending.values())
        resolve({ id: 0, ok: false, error: 'proxy host exited' });
      this.pending.clear();
    });
  }

  static async start(): Promise<ProxyHost> {
    const child = fork(join(__dirname, 'proxy-host.ts'), [], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`proxy host exited (${code})`)));
    });
    return new ProxyHost(child);
  }

  async send(command: Command): Promise<ProxyReply> {
    const id = this.next++;
    const reply = new Promise<ProxyReply>((resolve) => this.pending.set(id, { resolve }));
    this.child.send({ ...command, id });
    const answer = await reply;
    if (!answer.ok) throw new Error(`proxy ${command.name} ${command.op}: ${answer.error}`);
    return answer;
  }

  async proxy(name: string, target: { host: string; port: number }, listenPort: number) {
    await this.send({ op: 'start', name, target, listenPort });
    return new RemoteFaultProxy(this, name, listenPort);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** A FaultProxy in the proxy host, with the methods the faults use. */
export class RemoteFaultProxy {
  constructor(
    private readonly host: ProxyHost,
    readonly name: string,
    readonly port: number,
  ) {}

  async blackhole(): Promise<void> {
    await this.host.send({ op: 'blackhole', name: this.name });
  }

  async reset(): Promise<void> {
    await this.host.send({ op: 'reset', name: this.name });
  }

  async pass(): Promise<void> {
    await this.host.send({ op: 'pass', name: this.name });
  }

  async latency(ms: number, jitterMs = 0): Promise<void> {
    await this.host.send({ op: 'latency', name: this.name, ms, jitterMs });
  }

  async stats(): Promise<FaultProxyStats> {
    return (await this.host.send({ op: 'stats', name: this.name })).stats!;
  }

  async close(): Promise<void> {
    await this.host.send({ op: 'close', name: this.name });
  }
}
