import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx, requireNginx, writeNginxConfig } from '../../test/support/nginx';
import { ServerProcess } from './proc';

export { findNginx as nginxBinary };

/**
 * nginx in the foreground with docker/nginx.conf in front of `apiPorts`, inside the main context of
 * the official nginx image's nginx.conf (worker_processes auto, 1024 connections per worker, an
 * access log, sendfile, keepalive_timeout 65), with paths of its own. Ready once /health/live
 * answers through it.
 */
export function nginxProcess(
  port: number,
  apiPorts: number[],
): { proc: ServerProcess; dir: string; remove(): void } {
  const binary = requireNginx();
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const args = writeNginxConfig(dir, {
    port,
    apiPorts,
    logFormat: `'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"'`,
    workerProcesses: 'auto',
    http: ['sendfile on;', 'keepalive_timeout 65;'],
  });
  const proc = new ServerProcess({
    name: 'nginx',
    port,
    command: binary,
    args: [...args, '-g', 'daemon off;'],
    env: {},
    readyPath: '/health/live',
  });
  return { proc, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
