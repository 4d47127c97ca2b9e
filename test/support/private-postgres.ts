import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function pgBin(name: string): string {
  const versions = execFileSync('ls', ['/usr/lib/postgresql']).toString().trim().split('\n').sort();
  return join('/usr/lib/postgresql', versions[versions.length - 1], 'bin', name);
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, its own port), so a fault
 * test can stop and start the database without touching the machine's server. `destroy()` removes it.
 */
export class PrivatePostgres {
  readonly url: string;
  private readonly dir: string;
  private readonly asRoot = process.getuid?.() === 0;

  constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'omni-pg-'));
    if (this.asRoot) execFileSync('chown', ['postgres:postgres', this.dir]);
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  async init(): Promise<void> {
    await this.pg(`${pgBin('initdb')} -D ${this.dir}/data -A trust -U postgres`);
    await this.start();
  }

  async start(): Promise<void> {
    await this.pg(
      `${pgBin('pg_ctl')} -D ${this.dir}/data -l ${this.dir}/log -w -o "-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1" start`,
    );
  }

  /** `mode`: fast (clean) or immediate (like a crash). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg(`${pgBin('pg_ctl')} -D ${this.dir}/data -m ${mode} -w stop`);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pg(command: string): Promise<void> {
    if (this.asRoot) await run('su', ['postgres', '-s', '/bin/sh', '-c', command]);
    else await run('/bin/sh', ['-c', command]);
  }
}
