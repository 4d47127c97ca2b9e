import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { backoffDelay, type Backoff } from '../common/backoff';
import { within } from '../common/within';
import { HealthRegistry } from '../health/health.registry';
import { runMigrationsLocked } from './migrations.runner';

/**
 * A connection in use that has heard nothing from PostgreSQL for this long is taken for dead: a
 * connection dropped without a FIN or an RST (a lost NAT or firewall state, a blackholed network,
 * a hung proxy) would otherwise leave its query waiting for TCP's own timeout, i.e. for ever as far
 * as a worker holding a batch is concerned. Far above any statement of this service.
 */
export const SILENT_CONNECTION_MS = 60_000;

/** Between attempts to connect and migrate: 500 ms doubling to 5 s. */
const CONNECT_BACKOFF: Backoff = { baseMs: 250, maxMs: 5000, jitter: 0 };

/**
 * Connects to PostgreSQL and applies pending migrations in the background, retrying with back-off
 * for as long as the database is away, so the process starts (and reports its health) without it.
 * `ready` resolves once the schema is in place; the consumer waits for it before taking messages.
 */
@Injectable()
export class DatabaseService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private stopped = false;
  private resolveReady!: () => void;
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));
  private schemaInPlace = false;

  private lastError = 'not connected yet';

  constructor(
    @InjectDataSource() readonly dataSource: DataSource,
    health: HealthRegistry,
  ) {
    health.register({
      dependency: 'postgres',
      neededFor: 'storing',
      check: async () => {
        const up = await this.ping();
        return { up, state: up ? 'connected' : this.lastError };
      },
    });
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  /** Whether `ready` has resolved: connected once and the migrations applied. */
  get isReady(): boolean {
    return this.schemaInPlace;
  }

  /** True when a trivial query answers within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    if (!this.dataSource.isInitialized) return false;
    try {
      await within(this.dataSource.query('SELECT 1'), timeoutMs);
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      return false;
    }
  }

  /**
   * Bounds what a connection that died silently can hold up: a checked-out connection with no byte
   * from the server for SILENT_CONNECTION_MS has its socket destroyed, so its query fails as a lost
   * connection (transient: the batch is retried on a new one); PostgreSQL ends the server's half
   * (idle_in_transaction_session_timeout, data-source.options.ts). pg-pool's `acquire`/`release`
   * events see every checkout, also of the connections opened before this ran.
   */
  private guardConnections(): void {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (!pool) return;
    const guarded = new WeakSet<PoolClient>();
    const socketOf = (client: PoolClient) =>
      (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    pool.on('acquire', (client) => {
      const socket = socketOf(client);
      if (!guarded.has(client)) {
        guarded.add(client);
        socket?.on('timeout', () => {
          this.logger.warn(
            `no answer from PostgreSQL for ${SILENT_CONNECTION_MS} ms on a connection in use; abandoning it`,
          );
          // ETIMEDOUT: a network failure (transient-error.ts), so a batch is held and retried.
          const err = new Error(`no answer from PostgreSQL within ${SILENT_CONNECTION_MS} ms`);
          socket.destroy(Object.assign(err, { code: 'ETIMEDOUT' }));
        });
      }
      socket?.setTimeout(SILENT_CONNECTION_MS);
    });
    pool.on('release', (_err, client) => socketOf(client)?.setTimeout(0));
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        if (!this.dataSource.isInitialized) await this.dataSource.initialize();
        const applied = await runMigrationsLocked(this.dataSource);
        if (applied.length) this.logger.log(`applied migrations: ${applied.join(', ')}`);
        // After the migrations: a long migration statement may legitimately be silent for minutes.
        this.guardConnections();
        this.logger.log('connected; schema is current');
        this.schemaInPlace = true;
        this.resolveReady();
        return;
      } catch (err) {
        this.lastError = (err as Error).message;
        const delay = backoffDelay(attempt, CONNECT_BACKOFF);
        this.logger.warn(
          `not ready (attempt ${attempt}): ${(err as Error).message}; retrying in ${delay} ms`,
        );
        await sleep(delay);
      }
    }
  }
}
