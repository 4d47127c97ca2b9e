import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/*
 * docker/nginx.conf run by Debian's nginx on this machine, for the proofs that need the real thing
 * (the deploy proof of nginx.conf, the fault schedule, the bench's scale-out): only its upstream servers and
 * its listen address are rewritten, every proxy setting (timeouts, proxy_next_upstream, max_fails)
 * is the file's.
 */

const NGINX_CONF = resolve(__dirname, '..', '..', 'docker', 'nginx.conf');

/** Debian's nginx, or null when it is not installed. */
export function findNginx(): string | null {
  return (
    ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path)) ?? null
  );
}

export function requireNginx(): string {
  const binary = findNginx();
  if (!binary) throw new Error('nginx is not installed (apt-get install nginx-light)');
  return binary;
}

/**
 * `original` with its upstream servers (`server api:3000 …;` → one line per address, same
 * parameters) and its one `listen 8080;` rewritten.
 */
export function deriveNginxConfig(original: string, listen: string, upstreams: string[]): string {
  const server = /^(\s*)server\s+api:3000(\s[^;]*)?;/m.exec(original);
  if (!server) throw new Error('docker/nginx.conf has no `server api:3000 …;` line in its upstream');
  const params = server[2] ?? '';
  const servers = upstreams.map((address) => `${server[1]}server ${address}${params};`).join('\n');
  if ((original.match(/^\s*listen\s+8080;/gm) ?? []).length !== 1)
    throw new Error('docker/nginx.conf must have exactly one `listen 8080;`');
  return original.replace(server[0], servers).replace(/^(\s*)listen\s+8080;/m, `$1listen ${listen};`);
}

export interface NginxSetup {
  /** Loopback port nginx listens on. */
  port: number;
  /** Ports of the api processes on 127.0.0.1. */
  apiPorts: number[];
  /** The access log's format (`log_format` body, quoted). */
  logFormat: string;
  workerProcesses?: string;
  workerConnections?: number;
  /** More directives for the http context (e.g. `sendfile on;`). */
  http?: string[];
}

/**
 * Writes `dir`/default.conf (docker/nginx.conf, rewritten) and `dir`/nginx.conf (a main context
 * with this run's paths around it); returns nginx's arguments for that directory (without `-t` or
 * `-g 'daemon off;'`). The access log is `dir`/logs/access.log.
 */
export function writeNginxConfig(dir: string, setup: NginxSetup): string[] {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const original = readFileSync(NGINX_CONF, 'utf8');
  const upstreams = setup.apiPorts.map((port) => `127.0.0.1:${port}`);
  writeFileSync(join(dir, 'default.conf'), deriveNginxConfig(original, `127.0.0.1:${setup.port}`, upstreams));
  const http = [
    `log_format run ${setup.logFormat};`,
    `access_log ${dir}/logs/access.log run;`,
    ...(setup.http ?? []),
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (kind) => `${kind}_temp_path ${dir}/${kind};`,
    ),
    `include ${dir}/default.conf;`,
  ];
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `worker_processes ${setup.workerProcesses ?? '1'};`,
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/logs/error.log warn;`,
      `events { worker_connections ${setup.workerConnections ?? 1024}; }`,
      'http {',
      ...http.map((line) => `  ${line}`),
      '}',
      '',
    ].join('\n'),
  );
  return ['-p', dir, '-e', `${dir}/logs/error.log`, '-c', `${dir}/nginx.conf`];
}
