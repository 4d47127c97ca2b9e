import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/poll';
import type { RabbitNode } from '../support/rabbit-node';
import type { RemoteFaultProxy } from './remote-proxy';
import type { ServiceChild } from './service-child';
import { freeBytes, type Stack } from './stack';
import type { FaultSpec, FaultWindow } from './trial';

/** How long each fault is held: `short` for CI, `full` on demand. */
export interface Holds {
  brokerDownMs: number;
  alarmMs: number;
  postgresDownMs: number;
  processDownMs: number;
  blackholeMs: number;
  flakyMs: number;
  slowMs: number;
}

export const SHORT_HOLDS: Holds = {
  brokerDownMs: 5000,
  alarmMs: 8000,
  postgresDownMs: 8000,
  processDownMs: 3000,
  blackholeMs: 12000,
  flakyMs: 8000,
  slowMs: 10000,
};

export const FULL_HOLDS: Holds = {
  brokerDownMs: 15000,
  alarmMs: 20000,
  postgresDownMs: 20000,
  processDownMs: 5000,
  blackholeMs: 30000,
  flakyMs: 15000,
  slowMs: 20000,
};

/** The alarms a node has in force, from `rabbit_alarm:get_alarms()`: e.g. `memory`, `disk`. */
async function alarms(node: RabbitNode): Promise<string[]> {
  const out = await node.ctl(['eval', 'rabbit_alarm:get_alarms().']);
  return [...out.matchAll(/resource_limit,(\w+)/g)].map((match) => match[1]);
}

async function untilAlarm(node: RabbitNode, kind: string, present: boolean): Promise<void> {
  await waitFor(async () => (await alarms(node)).includes(kind) === present, {
    timeoutMs: 30000,
    intervalMs: 200,
    what: `${kind} alarm ${present ? 'raised' : 'cleared'} on ${node.node}`,
  });
}

function window(start: number, notes: string[] = [], failures: string[] = []): FaultWindow {
  return { start, end: Date.now(), notes, failures };
}

/** Kills a process of the topology (SIGKILL) and starts it again after `downMs`. */
async function killAndRestart(services: ServiceChild[], downMs: number, log: (l: string) => void) {
  const start = Date.now();
  const exits = await Promise.all(services.map((service) => service.kill()));
  log(`killed ${services.map((s, i) => `${s.name} (${exits[i].signal})`).join(', ')}`);
  await sleep(downMs);
  await Promise.all(services.map((service) => service.start()));
  return window(start);
}

/** Blackhole for `blackholeMs`, then latency with resets every 3 s for `flakyMs`, then clean. */
async function blackholeThenFlaky(proxy: RemoteFaultProxy, holds: Holds, log: (l: string) => void) {
  const start = Date.now();
  await proxy.blackhole();
  await sleep(holds.blackholeMs);
  const dropped = (await proxy.stats()).bytesDropped;
  log(`blackhole over (${dropped} bytes dropped); latency 50±50 ms with a reset every 3 s`);
  await proxy.latency(50, 50);
  for (let left = holds.flakyMs; left > 0; left -= 3000) {
    await proxy.reset();
    await sleep(Math.min(3000, left));
  }
  await proxy.pass();
  return window(start, [`blackhole dropped ${dropped} bytes`]);
}

/**
 * Blackhole for `blackholeMs`, then clean again: new connections pass, but the blackholed ones stay
 * dead without a FIN or an RST (like a NAT or firewall that lost their state): only the services'
 * own timeouts can notice them.
 */
async function blackholeOnly(proxy: RemoteFaultProxy, holds: Holds) {
  const start = Date.now();
  await proxy.blackhole();
  await sleep(holds.blackholeMs);
  const stats = await proxy.stats();
  await proxy.pass();
  return window(start, [
    `blackhole dropped ${stats.bytesDropped} bytes; ${stats.open} connections still open at its end`,
  ]);
}

function required<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`this stack has no ${what}`);
  return value;
}

export function faultCatalogue(holds: Holds): Record<string, FaultSpec> {
  const overhead = 30000; // load before and after, checks
  return {
    'broker-kill': {
      name: 'broker-kill',
      description: `RabbitMQ node killed with SIGKILL (beam.smp), started again after ${holds.brokerDownMs / 1000} s on the same data`,
      estimateMs: overhead + holds.brokerDownMs + 15000,
      run: async (stack, log) => {
        const node = stack.brokers[0];
        const start = Date.now();
        await node.kill();
        log(`${node.node} killed`);
        await sleep(holds.brokerDownMs);
        await node.start();
        log(`${node.node} started again`);
        return window(start);
      },
    },
    'broker-memory-alarm': {
      name: 'broker-memory-alarm',
      description: `memory alarm (set_vm_memory_high_watermark 0) for ${holds.alarmMs / 1000} s, then 0.4`,
      estimateMs: overhead + holds.alarmMs + 5000,
      run: async (stack) => {
        const node = stack.brokers[0];
        const start = Date.now();
        await node.setMemoryWatermark(0);
        await untilAlarm(node, 'memory', true);
        await sleep(holds.alarmMs);
        await node.setMemoryWatermark(0.4);
        await untilAlarm(node, 'memory', false);
        return window(start);
      },
    },
    'broker-disk-alarm': {
      name: 'broker-disk-alarm',
      description: `disk alarm (set_disk_free_limit above the free space) for ${holds.alarmMs / 1000} s, then 50MB`,
      estimateMs: overhead + holds.alarmMs + 5000,
      run: async (stack) => {
        const node = stack.brokers[0];
        const start = Date.now();
        const limit = freeBytes(tmpdir()) + 100 * 1024 ** 3;
        await node.setDiskFreeLimit(String(limit));
        await untilAlarm(node, 'disk', true);
        await sleep(holds.alarmMs);
        await node.setDiskFreeLimit('50MB');
        await untilAlarm(node, 'disk', false);
        return window(start);
      },
    },
    'postgres-immediate': {
      name: 'postgres-immediate',
      description: `PostgreSQL stopped with pg_ctl -m immediate, started again after ${holds.postgresDownMs / 1000} s`,
      estimateMs: overhead + holds.postgresDownMs + 5000,
      run: async (stack) => {
        const start = Date.now();
        await stack.postgres.stop('immediate');
        await sleep(holds.postgresDownMs);
        await stack.postgres.start();
        return window(start);
      },
    },
    'api-worker-kill': {
      name: 'api-worker-kill',
      description: `api1 and worker1 killed with SIGKILL under load (the worker mid-batch), started again after ${holds.processDownMs / 1000} s`,
      estimateMs: overhead + holds.processDownMs + 10000,
      run: (stack, log) => killAndRestart([stack.apis[0], stack.workers[0]], holds.processDownMs, log),
    },
    'rolling-restart': {
      name: 'rolling-restart',
      description: 'SIGTERM to every api and worker in turn, each started again and ready before the next',
      estimateMs: overhead + 40000,
      run: async (stack, log) => {
        const start = Date.now();
        const failures: string[] = [];
        const notes: string[] = [];
        for (const service of stack.services) {
          const began = Date.now();
          const exit = await service.terminate();
          if (exit.code !== 0 || exit.signal !== null)
            failures.push(`${service.name} exited ${JSON.stringify(exit)} on SIGTERM`);
          await service.start();
          notes.push(
            `${service.name} stopped (exit ${exit.code}) and ready again in ${Date.now() - began} ms`,
          );
          log(notes[notes.length - 1]);
        }
        return window(start, notes, failures);
      },
    },
    'broker-path-blackhole': {
      name: 'broker-path-blackhole',
      description: `services→RabbitMQ proxy: blackhole ${holds.blackholeMs / 1000} s, then 50±50 ms latency with a reset every 3 s for ${holds.flakyMs / 1000} s`,
      estimateMs: overhead + holds.blackholeMs + holds.flakyMs + 10000,
      run: (stack, log) => blackholeThenFlaky(required(stack.brokerProxy, 'broker proxy'), holds, log),
    },
    'postgres-path-blackhole': {
      name: 'postgres-path-blackhole',
      description: `services→PostgreSQL proxy: blackhole ${holds.blackholeMs / 1000} s, then 50±50 ms latency with a reset every 3 s for ${holds.flakyMs / 1000} s`,
      estimateMs: overhead + holds.blackholeMs + holds.flakyMs + 10000,
      run: (stack, log) => blackholeThenFlaky(required(stack.postgresProxy, 'PostgreSQL proxy'), holds, log),
    },
    'broker-path-silent-drop': {
      name: 'broker-path-silent-drop',
      description: `services→RabbitMQ proxy: blackhole ${holds.blackholeMs / 1000} s, then new connections pass while the blackholed ones stay silent (no FIN, no RST)`,
      estimateMs: overhead + holds.blackholeMs + 30000,
      run: (stack) => blackholeOnly(required(stack.brokerProxy, 'broker proxy'), holds),
    },
    'postgres-path-silent-drop': {
      name: 'postgres-path-silent-drop',
      description: `services→PostgreSQL proxy: blackhole ${holds.blackholeMs / 1000} s, then new connections pass while the blackholed ones stay silent (no FIN, no RST)`,
      estimateMs: overhead + holds.blackholeMs + 30000,
      run: (stack) => blackholeOnly(required(stack.postgresProxy, 'PostgreSQL proxy'), holds),
    },
    'postgres-slow': {
      name: 'postgres-slow',
      description: `services→PostgreSQL proxy: 200 ms added to every chunk, both ways, for ${holds.slowMs / 1000} s`,
      estimateMs: overhead + holds.slowMs + 5000,
      run: async (stack) => {
        const proxy = required(stack.postgresProxy, 'PostgreSQL proxy');
        const start = Date.now();
        await proxy.latency(200);
        await sleep(holds.slowMs);
        await proxy.pass();
        return window(start);
      },
    },
  };
}

/** The node that leads `queue` now, from `rabbitmqctl list_queues name type leader members`. */
export async function queueLeader(
  stack: Stack,
  queue: string,
): Promise<{ node: RabbitNode; type: string; members: string[] }> {
  for (const asked of stack.brokers) {
    try {
      const out = await asked.ctl([
        'list_queues',
        'name',
        'type',
        'leader',
        'members',
        '--formatter',
        'json',
      ]);
      const rows = JSON.parse(out) as { name: string; type: string; leader: string; members: string[] }[];
      const row = rows.find((r) => r.name === queue);
      if (!row) throw new Error(`no queue ${queue}`);
      const node = stack.brokers.find((n) => n.node === row.leader);
      if (!node) throw new Error(`leader ${row.leader} is not a node of this stack`);
      return { node, type: row.type, members: row.members };
    } catch {
      // this node is down or not answering: ask the next
    }
  }
  throw new Error(`no node could name the leader of ${queue}`);
}

/**
 * Three clustered nodes: SIGKILL to the node that leads the deliveries queue (the services are
 * connected to it too: it is the first of AMQP_URL). The fault "ends" at the kill: what is measured
 * is how long the service takes to answer 200 again on the other two nodes, without a restart. The
 * node stays down for the rest of the trial; the runner starts it again afterwards.
 */
export function clusterLeaderKill(downMs: number): FaultSpec {
  return {
    name: 'cluster-leader-kill',
    description:
      'three clustered RabbitMQ nodes, quorum queues on all three: SIGKILL to the node leading the deliveries queue (and holding every service connection); it stays down for the rest of the trial (the times are from the kill)',
    estimateMs: 30000 + downMs,
    run: async (stack, log) => {
      const before = await queueLeader(stack, stack.topology.queue);
      log(
        `deliveries queue: ${before.type}, leader ${before.node.node}, members ${before.members.join(' ')}`,
      );
      const start = Date.now();
      await before.node.kill();
      const killedAt = Date.now();
      log(`${before.node.node} killed`);
      const after = await waitFor(
        async () => {
          const now = await queueLeader(stack, stack.topology.queue);
          return now.node !== before.node ? now : null;
        },
        { timeoutMs: 30000, intervalMs: 250, what: 'a new leader of the deliveries queue' },
      );
      const notes = [
        `before: ${before.type} queue led by ${before.node.node}, members ${before.members.join(', ')}`,
        `after the kill: led by ${after.node.node} (elected within ${Date.now() - killedAt} ms of the kill, as seen by polling rabbitmqctl)`,
      ];
      return { start, end: killedAt, notes, failures: [] };
    },
  };
}

export const SCHEDULES: Record<'short' | 'full', string[]> = {
  short: ['broker-kill', 'postgres-immediate', 'api-worker-kill', 'postgres-path-silent-drop'],
  full: [
    'broker-kill',
    'broker-memory-alarm',
    'broker-disk-alarm',
    'postgres-immediate',
    'api-worker-kill',
    'rolling-restart',
    'broker-path-blackhole',
    'broker-path-silent-drop',
    'postgres-path-blackhole',
    'postgres-path-silent-drop',
    'postgres-slow',
  ],
};

/** Waits until every service of the stack is ready again (between trials). */
export async function allReady(stack: Stack): Promise<void> {
  for (const service of stack.services) await service.waitReady(60000);
}
