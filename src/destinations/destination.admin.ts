import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DatabaseService } from '../database/database.service';
import { CIRCUIT_AFTER } from './destination.deliverer';
import { DestinationSignal } from './destination.fan-out';
import { retryFailed } from './destination.statements';
import {
  FRESH_STATE,
  changeState,
  readBacklogs,
  readStates,
  type DestinationStateName,
} from './destination-state.statements';
import { Destinations } from './destinations';

export interface DestinationSummary {
  name: string;
  /** Scheme, host and path: a query string may carry a token. */
  url: string;
  filter: readonly string[];
  ordering: 'entity' | 'none';
  state: DestinationStateName;
  circuitOpen: boolean;
  consecutiveFailures: number;
  pending: number;
  failed: number;
  oldestPendingSeconds: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

export type DestinationAction = 'pause' | 'resume' | 'enable' | 'retry';

/** For each state change, the state it starts from and the one it leads to. */
const TRANSITIONS: Record<
  Exclude<DestinationAction, 'retry'>,
  [DestinationStateName, DestinationStateName]
> = {
  pause: ['active', 'paused'],
  resume: ['paused', 'active'],
  enable: ['disabled', 'active'],
};

export interface ActionResult {
  name: string;
  state: DestinationStateName;
  /** Whether the action changed anything (pausing a paused destination does not). */
  changed: boolean;
  /** retry: the failed events made pending again. */
  retried?: number;
}

/** What /admin/destinations and the console read and do; AdminActions audits each action. */
@Injectable()
export class DestinationAdmin {
  constructor(
    private readonly destinations: Destinations,
    private readonly database: DatabaseService,
    private readonly signal: DestinationSignal,
  ) {}

  async list(): Promise<DestinationSummary[]> {
    const { dataSource } = this.database;
    const [states, backlogs] = await Promise.all([readStates(dataSource), readBacklogs(dataSource)]);
    return this.destinations.all.map((destination) => {
      const state = states.get(destination.name) ?? FRESH_STATE;
      const backlog = backlogs.get(destination.name);
      const url = new URL(destination.url);
      return {
        name: destination.name,
        url: `${url.origin}${url.pathname}`,
        filter: destination.filter,
        ordering: destination.ordering,
        state: state.state,
        circuitOpen: state.consecutiveFailures >= CIRCUIT_AFTER,
        consecutiveFailures: state.consecutiveFailures,
        pending: backlog?.pending ?? 0,
        failed: backlog?.failed ?? 0,
        oldestPendingSeconds: Math.round(backlog?.oldestPendingSeconds ?? 0),
        lastError: state.lastError,
        lastErrorAt: state.lastErrorAt?.toISOString() ?? null,
      };
    });
  }

  /**
   * One action on a destination in force (404 otherwise); 409 when its state does not allow it.
   * `audit` writes the action's audit row in the same transaction as its own writes.
   */
  async act(
    name: string,
    action: DestinationAction,
    audit: (manager: EntityManager, result: ActionResult) => Promise<void>,
  ): Promise<ActionResult> {
    if (!this.destinations.byName(name)) throw new NotFoundException(`no destination ${name}`);
    const result = await this.database.dataSource.transaction(async (manager) => {
      const done = await this.change(manager, name, action);
      await audit(manager, done);
      return done;
    });
    this.signal.notify();
    return result;
  }

  private async change(
    manager: EntityManager,
    name: string,
    action: DestinationAction,
  ): Promise<ActionResult> {
    if (action === 'retry') {
      const retried = await retryFailed(manager, name);
      const state = (await readStates(manager)).get(name)?.state ?? 'active';
      return { name, state, changed: retried > 0, retried };
    }
    const [from, to] = TRANSITIONS[action];
    if (await changeState(manager, name, from, to)) return { name, state: to, changed: true };
    const state = (await readStates(manager)).get(name)?.state ?? 'active';
    if (state === to) return { name, state, changed: false };
    throw new ConflictException(
      `destination ${name} is ${state}: ${action} applies to a ${from} destination`,
    );
  }
}
