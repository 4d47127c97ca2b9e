import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Child } from '../../scripts/lib';
import { waitFor } from '../support/poll';

const REPO = resolve(__dirname, '..', '..');

export function nginxBinary(): string {
  const bin = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
  if (!bin) throw new Error('nginx is not installed (apt-get install nginx-light)');
  return bin;
}

/**
 * docker/nginx.conf with only its upstream servers (`api:3000` → the given addresses, with the file's
 * own parameters: max_fails, fail_timeout) and its listen address rewritten, as
 * scripts/verify-nginx.ts does: every proxy setting (timeouts, proxy_next_upstream) is the file's.
 */
export function deriveNginxConfig(original: string, listen: string, upstreams: string[]): string {
  const server = /^(\s*)server\s+api:3000(\s[^;]*)?;/m.exec(original);
  if (!server) throw new Error('docker/nginx.conf has no `server api:3000 …;` line in its upstream');
  const params = server[2] ?? '';
  const servers = upstreams.map((address) => `${server[1]}server ${address}${params};`).join('\n');
  const listens = original.match(/^\s*listen\s+8080;/gm) ?? [];
  if (listens.length !== 1) throw new Error('docker/nginx.conf must have exactly one `listen 8080;`');
  return original.replace(server[0], servers).replace(/^(\s*)listen\s+8080;/m, `$1listen ${listen};`);
}

/** Debian's nginx, foreground, with docker/nginx.conf in front of the run's api processes. */
export class Nginx {
  private child?: Child;
  readonly url: string;

  constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly upstreams: string[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get accessLog(): string {
    return join(this.dir, 'logs', 'access.log');
  }

  async start(): Promise<void> {
    const bin = nginxBinary();
    const original = readFileSync(join(REPO, 'docker', 'nginx.conf'), 'utf8');
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    writeFileSync(
      join(this.dir, 'default.conf'),
      deriveNginxConfig(original, `127.0.0.1:${this.port}`, this.upstreams),
    );
    const dir = this.dir;
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  log_format faults '$msec $status $request_time "$upstream_addr" "$upstream_status" $request_length';
  access_log ${dir}/logs/access.log faults;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/default.conf;
}
`,
    );
    const args = ['-p', dir, '-e', `${dir}/logs/error.log`, '-c', `${dir}/nginx.conf`];
    execFileSync(bin, [...args, '-t'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = new Child('nginx', bin, [...args, '-g', 'daemon off;'], { cwd: dir });
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
