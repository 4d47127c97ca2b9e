import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Lifecycle } from '../lifecycle/lifecycle';
import { Metrics } from '../metrics/metrics.service';
import { HealthRegistry } from './health.registry';

/** `webhook_dependency_up` and `webhook_shutting_down`, read from the probes at each scrape. */
@Injectable()
export class HealthMetrics {
  constructor(metrics: Metrics, registry: HealthRegistry, lifecycle: Lifecycle) {
    new Gauge({
      name: 'webhook_dependency_up',
      help: 'Whether a dependency of this role is usable now (1) or not (0), as /health reports it.',
      labelNames: ['dependency'] as const,
      registers: [metrics.registry],
      async collect() {
        this.reset();
        const up = new Map<string, boolean>();
        for (const probe of registry.list()) {
          const result = await probe.check();
          up.set(probe.dependency, (up.get(probe.dependency) ?? true) && result.up);
        }
        for (const [dependency, value] of up) this.set({ dependency }, value ? 1 : 0);
      },
    });
    new Gauge({
      name: 'webhook_shutting_down',
      help: '1 once this instance received SIGTERM and is draining.',
      registers: [metrics.registry],
      collect() {
        this.set(lifecycle.shuttingDown ? 1 : 0);
      },
    });
  }
}
