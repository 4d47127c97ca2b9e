import { ServerProcess } from './proc';

/** What a deployment is made of: the processes, which of them takes the HTTP load, what it stores. */
export interface DeploymentSpec {
  /** The name in the tables: `service`, `bare`, `reference`, `service, feed off`, … */
  name: string;
  kind: 'service' | 'bare' | 'reference';
  /** Every process, started in this order (nginx last), stopped in reverse. */
  procs: ServerProcess[];
  /** The process the load goes to (an api, an `all` process, or nginx). */
  entry: ServerProcess;
  /** The processes whose memory and CPU count (node processes; nginx's workers are not its master). */
  measured: ServerProcess[];
  database: string;
  queue: string;
  /** Whether something consumes `queue` (no: an api-only deployment, its queue is purged). */
  consumes: boolean;
  /** The service's feed exchange when its feed is on. */
  eventsExchange?: string;
}

/** A deployment under test: starts and stops its processes together, sums their CPU, samples their memory. */
export class Deployment {
  consumerEnv: Record<string, string> = {};

  constructor(readonly spec: DeploymentSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get url(): string {
    return this.spec.entry.url;
  }

  get running(): boolean {
    return this.spec.procs.every((p) => p.running);
  }

  get output(): string {
    return this.spec.procs.map((p) => (p.output ? `--- ${p.spec.name}:\n${p.output}` : '')).join('\n');
  }

  async start(extraEnv: Record<string, string>, argsFor: (proc: ServerProcess) => string[]): Promise<void> {
    this.consumerEnv = extraEnv;
    for (const proc of this.spec.procs)
      if (!proc.running) await proc.start(proc.spec.command ? {} : extraEnv, argsFor(proc));
  }

  async stop(): Promise<void> {
    for (const proc of [...this.spec.procs].reverse()) await proc.stop();
  }

  cpuSeconds(): number {
    return this.spec.measured.reduce((sum, p) => sum + p.cpuSeconds(), 0);
  }

  /** Samples every measured process; the returned function gives the highest RSS of any one of them (KiB). */
  sampleRss(): () => number {
    const stops = this.spec.measured.map((p) => p.sampleRss());
    return () => Math.max(...stops.map((stop) => stop()));
  }

  /** Highest VmHWM/RSS seen over the bench for any measured process (KiB). */
  get lifetimePeakKiB(): number {
    return Math.max(0, ...this.spec.measured.map((p) => p.lifetimePeakKiB));
  }
}
