import { Counter, Gauge, type Registry } from 'prom-client';
import { RETENTION_TABLES } from './retention.statements';

/**
 * The retention job's metrics; created only when RETENTION_DAYS is set, so a service that keeps
 * everything exports none of them.
 */
export class RetentionMetrics {
  readonly deleted: Counter<'table'>;
  readonly lastSuccess: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deleted = new Counter({
      name: 'webhook_retention_deleted_total',
      help: 'Rows removed by retention (received longer than RETENTION_DAYS ago), by table.',
      labelNames: ['table'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'webhook_retention_last_success_timestamp_seconds',
      help:
        'Unix time of the last complete retention pass of this replica; 0 until its first (one ' +
        'replica works at a time: take the max over replicas).',
      registers,
    });
    for (const table of RETENTION_TABLES) this.deleted.inc({ table }, 0);
    this.lastSuccess.set(0);
  }
}
