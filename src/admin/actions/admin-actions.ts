import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { FeedOutbox, type ReplayRange } from '../../events/feed-outbox';
import {
  DestinationAdmin,
  type ActionResult,
  type DestinationAction,
} from '../../destinations/destination.admin';
import { DeadLetterQueue } from '../../messaging/dead-letter.queue';
import { AdminAudit } from '../audit/admin-audit';
import type { AdminActor } from '../http/admin-keys';
import { QuarantineService } from '../quarantine/quarantine.service';

/**
 * Every action of /admin and /console, each with its reason and its admin_audit row, written in the
 * same transaction as the action's own writes. Callers have already refused read-only keys.
 */
@Injectable()
export class AdminActions {
  private readonly logger = new Logger('AdminAudit');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly quarantine: QuarantineService,
    private readonly deadLetters: DeadLetterQueue,
    private readonly audit: AdminAudit,
    private readonly outbox: FeedOutbox,
    private readonly destinations: DestinationAdmin,
  ) {}

  /** Pause, resume, enable or retry a destination: its state change and its audit row commit together. */
  actOnDestination(
    actor: AdminActor,
    name: string,
    action: DestinationAction,
    reason: string,
  ): Promise<ActionResult> {
    return this.destinations.act(name, action, (manager, result) =>
      this.audit.record(manager, {
        actor,
        action: `destination.${action}`,
        target: `destinations/${name}`,
        reason,
        result,
      }),
    );
  }

  /** Publishes last, inside the transaction: a failed publish rolls back the mark and the audit row. */
  replayQuarantined(actor: AdminActor, id: string, reason: string): Promise<{ deliveryId: string }> {
    return this.dataSource.transaction(async (manager) => {
      const claim = await this.quarantine.claimReplay(manager, id);
      const result = { deliveryId: claim.deliveryId };
      await this.audit.record(manager, {
        actor,
        action: 'quarantine.replay',
        target: `quarantine/${id}`,
        reason,
        result,
      });
      await this.quarantine.publishReplay(claim);
      return result;
    });
  }

  resolveQuarantined(
    actor: AdminActor,
    id: string,
    reason: string,
  ): Promise<{ id: number; resolvedAt: string }> {
    return this.dataSource.transaction(async (manager) => {
      const result = await this.quarantine.resolve(manager, id, reason);
      await this.audit.record(manager, {
        actor,
        action: 'quarantine.resolve',
        target: `quarantine/${id}`,
        reason,
        result,
      });
      return result;
    });
  }

  replayEvents(actor: AdminActor, range: ReplayRange, reason: string): Promise<{ events: number }> {
    return this.dataSource.transaction(async (manager) => {
      const result = { events: await this.outbox.replay(range, manager) };
      const target = `events ${range.since.toISOString()}..${range.until.toISOString()}${range.name ? ` name=${range.name}` : ''}${range.apiSpaceId !== undefined ? ` apiSpaceId=${range.apiSpaceId}` : ''}`;
      await this.audit.record(manager, { actor, action: 'events.replay', target, reason, result });
      return result;
    });
  }

  /**
   * Moving dead letters writes nothing to the database: its audit row is its only write, made once
   * the broker confirmed the moves. Should that write fail, the log line keeps what was done.
   */
  async moveDeadLetters(
    actor: AdminActor,
    limit: number | undefined,
    reason: string,
  ): Promise<{ moved: number }> {
    const result = { moved: await this.deadLetters.moveBack(limit) };
    const entry = {
      actor,
      action: 'dead-letters.move',
      target: `dead-letters limit=${limit ?? 'all'}`,
      reason,
      result,
    };
    try {
      await this.dataSource.transaction((manager) => this.audit.record(manager, entry));
    } catch (err) {
      this.logger.error({
        msg: 'dead letters moved but not audited',
        key: actor.keyId,
        ...result,
        reason,
        err,
      });
      throw err;
    }
    return result;
  }
}
