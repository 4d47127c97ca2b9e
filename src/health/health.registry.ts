import { Injectable } from '@nestjs/common';

/** What a probe saw: up or not, and a short state for people ("connected", "blocked: low memory"). */
export interface ProbeResult {
  up: boolean;
  state: string;
}

/**
 * One dependency as one part of the service sees it, registered by the module that owns the
 * connection (the publisher, the consumer, the database, the feed relay).
 */
export interface HealthProbe {
  /** The key in /health: `rabbitmq`, `postgres`, `feed`. */
  dependency: string;
  /** Which connection, when several report on one dependency (`publisher`, `consumer`). */
  part?: string;
  /**
   * What this instance needs it for, which decides readiness (see Readiness): `receiving`
   * webhooks, `storing` events, or nothing the load balancer should act on.
   */
  neededFor: 'receiving' | 'storing' | 'nothing';
  check(): ProbeResult | Promise<ProbeResult>;
}

/**
 * The probes of the modules this role runs. Modules register their own, so /health names exactly
 * the dependencies of the role without anyone switching on the role.
 */
@Injectable()
export class HealthRegistry {
  private readonly probes: HealthProbe[] = [];

  register(probe: HealthProbe): void {
    this.probes.push(probe);
  }

  list(): readonly HealthProbe[] {
    return this.probes;
  }
}
