/**
 * The fault schedule: the production topology on this machine (nginx with docker/nginx.conf in front
 * of two api processes, two workers, a private RabbitMQ node, a private PostgreSQL cluster, TCP fault
 * proxies on the services' paths to both), the Dotdigital sender simulator as the load, and one fault
 * after another; after each, the simulator's ledger is checked against the database, the feed and an
 * HTTP destination, and the recovery is measured. Writes a Markdown table to a file and prints it; exits 0 only when every
 * fault balanced.
 *
 *   npm run test:faults                                   # the short schedule (CI)
 *   npm run test:faults -- --schedule full --time-limit 40
 *   npm run test:faults -- --faults broker-kill,postgres-slow --out /tmp/faults.md
 *
 * Needs a build (dist/main.js, or --main / FAULTS_SERVICE_MAIN), nginx, rabbitmq-server and
 * PostgreSQL's binaries. Ports: 4100–4114 (nginx, services), 5800–5822 and 25800–25822 (RabbitMQ),
 * 5900–5910 (PostgreSQL). Everything it starts is stopped and removed at the end, on failure or Ctrl-C.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Cleanup } from '../support/processes';
import { allReady, clusterLeaderKill, faultCatalogue, FULL_HOLDS, SCHEDULES, SHORT_HOLDS } from './faults';
import { requireNginx } from '../support/nginx';
import { markdownNotes, markdownTable } from './report';
import { Stack, type StackPorts } from './stack';
import { runTrial, type FaultSpec, type LoadOptions, type TrialResult } from './trial';

const REPO = resolve(__dirname, '..', '..');

const MAIN_PORTS: StackPorts = {
  nginx: 4100,
  apis: [4101, 4102],
  workers: [4103, 4104],
  postgres: 5900,
  postgresProxy: 5910,
  brokers: [5800],
  brokerProxy: 5810,
};

const CLUSTER_PORTS: StackPorts = {
  nginx: 4110,
  apis: [4111, 4112],
  workers: [4113, 4114],
  postgres: 5901,
  postgresProxy: null,
  brokers: [5820, 5821, 5822],
  brokerProxy: null,
};

interface Args {
  schedule: 'short' | 'full';
  faults: string[] | null;
  cluster: boolean;
  timeLimitMin: number;
  out: string;
  main: string;
  load: LoadOptions;
  keepLogs: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const schedule = (value('--schedule') ?? 'short') as Args['schedule'];
  if (schedule !== 'short' && schedule !== 'full') throw new Error('--schedule is short or full');
  const number = (flag: string, fallback: number) => {
    const text = value(flag);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number`);
    return n;
  };
  const faults = value('--faults')?.split(',').filter(Boolean) ?? null;
  const cluster = argv.includes('--cluster') || (schedule === 'full' && !argv.includes('--no-cluster'));
  return {
    schedule,
    faults,
    cluster: faults ? argv.includes('--cluster') : cluster,
    timeLimitMin: number('--time-limit', schedule === 'short' ? 12 : 45),
    out: value('--out') ?? join(tmpdir(), `omnichannel-faults-${schedule}.md`),
    main: resolve(value('--main') ?? process.env.FAULTS_SERVICE_MAIN ?? join(REPO, 'dist', 'main.js')),
    keepLogs: argv.includes('--keep-logs'),
    load: {
      eventsPerSecond: number('--rate', 250),
      beforeMs: 6000,
      afterMs: schedule === 'short' ? 8000 : 15000,
      timeScale: number('--time-scale', 0.01),
      concurrency: number('--concurrency', 32),
      batchSize: number('--batch-size', 50),
      seed: value('--seed') === undefined ? undefined : number('--seed', 0),
    },
  };
}

function log(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = net.createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

async function checkPorts(ports: StackPorts): Promise<void> {
  const all = [
    ports.nginx,
    ...ports.apis,
    ...ports.workers,
    ports.postgres,
    ...ports.brokers,
    ...ports.brokers.map((p) => p + 20000),
    ...[ports.postgresProxy, ports.brokerProxy].filter((p): p is number => p !== null),
  ];
  const taken = [];
  for (const port of all) if (!(await portFree(port))) taken.push(port);
  if (taken.length) throw new Error(`ports in use (another fault run?): ${taken.join(', ')}`);
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').trim();
}

function versions(): string {
  const first = (cmd: string, args: string[]) => {
    const out = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${out.stdout}${out.stderr}`.trim().split('\n')[0];
  };
  return [
    `node ${process.version}`,
    first(requireNginx(), ['-v']),
    `RabbitMQ ${first('rabbitmqctl', ['version'])}`,
    first('psql', ['--version']),
  ].join(', ');
}

async function runSchedule(cleanup: Cleanup, args: Args): Promise<TrialResult[]> {
  const deadline = Date.now() + args.timeLimitMin * 60000;
  const holds = args.schedule === 'short' ? SHORT_HOLDS : FULL_HOLDS;
  const catalogue = faultCatalogue(holds);
  const names = args.faults ?? SCHEDULES[args.schedule];
  for (const name of names) if (!catalogue[name]) throw new Error(`unknown fault ${name}`);
  const results: TrialResult[] = [];
  const skipped: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'omni-faults-'));
  let keep = args.keepLogs;
  cleanup.add('run directory', () => {
    if (keep) log(`logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  const stacks: [string, StackPorts, FaultSpec[]][] = [];
  if (names.length) stacks.push(['main', MAIN_PORTS, names.map((name) => catalogue[name])]);
  if (args.cluster)
    stacks.push(['cluster', CLUSTER_PORTS, [clusterLeaderKill(args.schedule === 'short' ? 10000 : 20000)]]);

  try {
    for (const [label, ports, faults] of stacks) {
      if (Date.now() + faults[0].estimateMs + 60000 > deadline) {
        skipped.push(...faults.map((f) => f.name));
        continue;
      }
      await checkPorts(ports);
      const stack = new Stack({ dir: join(dir, label), main: args.main, ports, log });
      let torn = false;
      const teardown = async () => {
        if (torn) return;
        torn = true;
        await stack.teardown();
      };
      cleanup.add(`${label} stack`, teardown);
      const built = Date.now();
      await stack.build();
      log(`${label} stack ready in ${((Date.now() - built) / 1000).toFixed(1)} s (load ${loadavg()})`);
      for (const fault of faults) {
        if (Date.now() + fault.estimateMs > deadline) {
          skipped.push(fault.name);
          continue;
        }
        await allReady(stack);
        const result = await runTrial(stack, fault, args.load, log);
        results.push(result);
        log(
          `${fault.name}: ${result.balanced ? 'BALANCED' : `NOT BALANCED: ${result.failures.join('; ')}`} ` +
            `(load ${loadavg()})`,
        );
        if (!result.balanced) {
          keep = true;
          // So that the next fault starts from a clean stack, not from what this one left stuck.
          log('restarting every service before the next fault');
          await restartServices(stack);
          result.notes.push('every service was restarted after this fault, before the next one');
        }
        if (fault.name === 'cluster-leader-kill') await restartClusterNodes(stack, result);
      }
      await teardown();
    }
  } catch (err) {
    keep = true;
    writeReport(args, results, skipped, `run aborted: ${(err as Error).message}`);
    throw err;
  }
  writeReport(args, results, skipped);
  return results;
}

async function restartServices(stack: Stack): Promise<void> {
  for (const service of stack.services) {
    await service.terminate().catch(() => undefined);
    await service.start();
  }
}

/** After the leader kill: start the killed node again; it rejoins; note the queue's members. */
async function restartClusterNodes(stack: Stack, result: TrialResult): Promise<void> {
  for (const node of stack.brokers) {
    if (node.pid() !== null && isAlive(node.pid()!)) continue;
    const began = Date.now();
    await node.start();
    result.notes.push(`${node.node} started again after the checks; rejoined in ${Date.now() - began} ms`);
  }
  result.notes.push(`cluster running nodes afterwards: ${await stack.clusterNodes()}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function writeReport(args: Args, results: TrialResult[], skipped: string[], aborted?: string): void {
  const command = `npm run test:faults -- ${process.argv.slice(2).join(' ')}`.trim();
  const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load ${loadavg()} at the end`;
  const text = [
    `# Fault schedule: ${args.schedule}`,
    '',
    `- command: \`${command}\``,
    `- when: ${new Date().toISOString()}`,
    `- machine: ${machine}`,
    `- software: ${versions()}`,
    `- load: ${args.load.eventsPerSecond} distinct events/s offered (+10 % repeats), batches of 1–${args.load.batchSize}` +
      ` (70 % of the events) and singles, ${args.load.concurrency} requests in flight at most, Dotdigital's retry schedule × ${args.load.timeScale}`,
    '',
    markdownTable(results),
    '',
    markdownNotes(results),
    ...(aborted ? ['', `**${aborted}**`] : []),
    ...(skipped.length
      ? ['', `Not run (time bound of ${args.timeLimitMin} min): ${skipped.join(', ')}`]
      : []),
    '',
  ].join('\n');
  writeFileSync(args.out, text);
  console.log(`\n${text}`);
  log(`report written to ${args.out}`);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(args.main)) throw new Error(`${args.main} does not exist: build first (npm run build)`);
  const cleanup = new Cleanup({ exitOnSignals: true });
  const started = Date.now();
  // A hard bound on top of the per-fault checks: whatever hangs, the run ends and cleans up.
  const watchdog = setTimeout(
    () => {
      log(`time bound of ${args.timeLimitMin} min (+5) exceeded: stopping`);
      void cleanup.run().finally(() => process.exit(1));
    },
    (args.timeLimitMin + 5) * 60000,
  );
  log(`fault schedule ${args.schedule}, service ${args.main}, load ${loadavg()}`);
  try {
    execFileSync('rabbitmqctl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('rabbitmqctl is not installed');
  }
  runSchedule(cleanup, args)
    .then(async (results) => {
      clearTimeout(watchdog);
      await cleanup.run();
      const failed = results.filter((r) => !r.balanced);
      log(
        `fault schedule ${args.schedule}: ${results.length - failed.length} balanced, ${failed.length} not, ` +
          `in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
      process.exit(failed.length === 0 && results.length > 0 ? 0 : 1);
    })
    .catch(async (err: unknown) => {
      clearTimeout(watchdog);
      console.error(
        `fault schedule FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      await cleanup.run();
      process.exit(1);
    });
}

main();
