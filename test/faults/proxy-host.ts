/**
 * The fault run's TCP proxies (test/support/fault-proxy.ts) in a process of their own, driven over
 * IPC by RemoteFaultProxy: the services' every byte to the broker and to PostgreSQL goes through
 * them, and in the harness's process they would wait behind the load generator and the checks (a
 * busy event loop there would look like a slow network to the services).
 */
import { FaultProxy } from '../support/fault-proxy';

export type ProxyCommand =
  | { id: number; op: 'start'; name: string; target: { host: string; port: number }; listenPort: number }
  | { id: number; op: 'blackhole' | 'reset' | 'pass' | 'close' | 'stats'; name: string }
  | { id: number; op: 'latency'; name: string; ms: number; jitterMs: number };

export interface ProxyReply {
  id: number;
  ok: boolean;
  error?: string;
  stats?: FaultProxy['stats'];
}

const proxies = new Map<string, FaultProxy>();

async function handle(command: ProxyCommand): Promise<FaultProxy['stats'] | undefined> {
  if (command.op === 'start') {
    proxies.set(
      command.name,
      await FaultProxy.start({ target: command.target, listenPort: command.listenPort }),
    );
    return undefined;
  }
  const proxy = proxies.get(command.name);
  if (!proxy) throw new Error(`no proxy ${command.name}`);
  switch (command.op) {
    case 'blackhole':
      await proxy.blackhole();
      break;
    case 'reset':
      await proxy.reset();
      break;
    case 'pass':
      await proxy.pass();
      break;
    case 'latency':
      await proxy.latency(command.ms, command.jitterMs);
      break;
    case 'close':
      await proxy.close();
      proxies.delete(command.name);
      break;
    case 'stats':
      break;
  }
  return proxy.stats;
}

process.on('message', (command: ProxyCommand) => {
  handle(command).then(
    (stats) => process.send?.({ id: command.id, ok: true, stats } satisfies ProxyReply),
    (err: Error) => process.send?.({ id: command.id, ok: false, error: err.message } satisfies ProxyReply),
  );
});
// The harness gone (even by SIGKILL): nothing of ours stays listening.
process.on('disconnect', () => {
  void Promise.all([...proxies.values()].map((proxy) => proxy.close())).finally(() => process.exit(0));
});
process.send?.({ id: 0, ok: true } satisfies ProxyReply);
