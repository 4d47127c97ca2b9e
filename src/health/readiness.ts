import { Injectable } from '@nestjs/common';
import { Lifecycle } from '../lifecycle/lifecycle';
import { HealthRegistry, type HealthProbe, type ProbeResult } from './health.registry';

export interface ReadinessVerdict {
  ready: boolean;
  /** Why not, for people (the test page, logs); null when ready. */
  reason: string | null;
}

/**
 * The one answer to "can this instance do its job now", used by /health/ready, the test page and
 * the intake. An instance that receives webhooks is judged by what receiving needs (a database
 * outage must not take it out of the load balancer's pool: deliveries wait in RabbitMQ); one that
 * only stores, by what storing needs. Shutting down is never ready.
 */
@Injectable()
export class Readiness {
  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly registry: HealthRegistry,
  ) {}

  /** The probes readiness is judged by. */
  probes(): HealthProbe[] {
    const all = this.registry.list();
    const receiving = all.filter((probe) => probe.neededFor === 'receiving');
    return receiving.length > 0 ? receiving : all.filter((probe) => probe.neededFor === 'storing');
  }

  async check(): Promise<ReadinessVerdict> {
    if (this.lifecycle.shuttingDown) return { ready: false, reason: 'the instance is shutting down' };
    for (const probe of this.probes()) {
      const result: ProbeResult = await probe.check();
      if (!result.up) return { ready: false, reason: `${describe(probe)}: ${result.state}` };
    }
    return { ready: true, reason: null };
  }
}

export function describe(probe: HealthProbe): string {
  return probe.part ? `${probe.dependency} (${probe.part})` : probe.dependency;
}
