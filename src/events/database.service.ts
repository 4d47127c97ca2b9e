import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { HealthRegistry } from '../health/health.registry';
import { runMigrationsLocked } from './migrations.runner';

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

  /** True when a trivial query answers within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    if (!this.dataSource.isInitialized) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise(
          (_, reject) =>
            (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]);
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        if (!this.dataSource.isInitialized) await this.dataSource.initialize();
        const applied = await runMigrationsLocked(this.dataSource);
        if (applied.length) this.logger.log(`applied migrations: ${applied.join(', ')}`);
        this.logger.log('connected; schema is current');
        this.resolveReady();
        return;
      } catch (err) {
        this.lastError = (err as Error).message;
        const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
        this.logger.warn(
          `not ready (attempt ${attempt}): ${(err as Error).message}; retrying in ${delay} ms`,
        );
        await sleep(delay);
      }
    }
  }
}
