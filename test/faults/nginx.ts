import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child } from '../support/processes';
import { requireNginx, writeNginxConfig } from '../support/nginx';
import { waitFor } from '../support/poll';

/** Debian's nginx, foreground, with docker/nginx.conf in front of the run's api processes. */
export class Nginx {
  private child?: Child;
  readonly url: string;

  constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly apiPorts: number[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get accessLog(): string {
    return join(this.dir, 'logs', 'access.log');
  }

  async start(): Promise<void> {
    const bin = requireNginx();
    const args = writeNginxConfig(this.dir, {
      port: this.port,
      apiPorts: this.apiPorts,
      logFormat: `'$msec $status $request_time "$upstream_addr" "$upstream_status" $request_length'`,
      workerConnections: 4096,
    });
    execFileSync(bin, [...args, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = new Child('nginx', bin, [...args, '-g', 'daemon off;'], { cwd: this.dir });
    await waitFor(
      async () => {
        const res = await fetch(`${this.url}/health/live`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeoutMs: 30000, intervalMs: 100, what: 'nginx proxying' },
    );
  }

  /** Statuses nginx answered, by upstream address, from the access log (for the report). */
  upstreamCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    if (!existsSync(this.accessLog)) return counts;
    for (const line of readFileSync(this.accessLog, 'utf8').split('\n')) {
      const upstream = /"([^"]*)"/.exec(line)?.[1];
      if (upstream) for (const one of upstream.split(/,\s*/)) counts.set(one, (counts.get(one) ?? 0) + 1);
    }
    return counts;
  }

  async stop(): Promise<void> {
    await this.child?.kill('SIGQUIT');
    this.child = undefined;
  }
}
