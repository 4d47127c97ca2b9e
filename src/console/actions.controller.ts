import { Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import { AdminActions } from '../admin/actions/admin-actions';
import {
  PAGE_PARAMS,
  badParameter,
  optionalText,
  param,
  text,
  type ParsedQuery,
} from '../admin/http/query-params';
import { RowId } from '../admin/quarantine/quarantine.controller';
import { QUARANTINE_STATES, QuarantineService } from '../admin/quarantine/quarantine.service';
import { parseDelivery } from '../envelope/delivery.parser';
import { FeedOutbox, type ReplayRange } from '../events/feed-outbox';
import { DeadLetterQueue } from '../messaging/dead-letter.queue';
import { Session } from './console-auth';
import { formReason, readForm } from './console-form';
import { ConsoleReads } from './console-reads';
import type { SessionView } from './console-sessions';
import { ConsoleViews } from './console-views';
import { ConsoleController } from './console.decorators';
import { ConsoleQuery } from './console-query';
import { windowOf } from './payload-search';

const QUARANTINE = {
  reason: { schema: text(2000).optional(), description: 'reason', openapi: { type: 'string' } },
  state: { ...param.oneOf(QUARANTINE_STATES), description: 'state' },
  ...PAGE_PARAMS,
} as const;
const REPLAY = {
  since: { schema: z.string().optional(), description: 'from', openapi: { type: 'string' } },
  until: { schema: z.string().optional(), description: 'to', openapi: { type: 'string' } },
  name: { schema: optionalText(200).optional(), description: 'event name', openapi: { type: 'string' } },
  apiSpaceId: { schema: optionalText().optional(), description: 'API space', openapi: { type: 'string' } },
} as const;

/** The pages that act: quarantine and its replay, dead letters and moving them back, feed replay. */
@ConsoleController()
export class ActionsController {
  constructor(
    private readonly views: ConsoleViews,
    private readonly reads: ConsoleReads,
    private readonly quarantine: QuarantineService,
    private readonly deadLetters: DeadLetterQueue,
    private readonly actions: AdminActions,
    private readonly outbox: FeedOutbox,
  ) {}

  @Get('quarantine')
  async quarantineList(
    @ConsoleQuery(QUARANTINE) { reason, state, limit, cursor }: ParsedQuery<typeof QUARANTINE>,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const [page, reasons] = await Promise.all([
      this.reads.quarantineList({ reason, state }, limit, cursor),
      this.reads.quarantineReasons(),
    ]);
    const data = { title: 'Quarantine', nav: 'quarantine', page, reasons, reason, state, limit };
    this.views.send(res, 'quarantine', { ...data, states: QUARANTINE_STATES }, session);
  }

  @Get('quarantine/:id')
  async quarantineItem(
    @Param('id', RowId) id: string,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const item = await this.quarantine.one(id);
    const bytes = Buffer.from(item.body, 'base64');
    const stillBad = stillMalformed(bytes);
    const hex = isUtf8(bytes)
      ? null
      : bytes
          .subarray(0, 4096)
          .toString('hex')
          .replace(/(.{2})/g, '$1 ')
          .trim();
    this.views.send(
      res,
      'quarantine-item',
      { title: `Quarantined item ${id}`, nav: 'quarantine', item, hex, stillBad },
      session,
    );
  }

  @Post('quarantine/:id/replay')
  async replayItem(
    @Param('id', RowId) id: string,
    @Session() session: SessionView,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const form = await readForm(req);
    const reason = formReason(form);
    // Replaying bytes that are still malformed only quarantines them again: the page said so, and
    // the operator must have confirmed it.
    if (
      form.get('confirm') !== 'yes' &&
      stillMalformed(Buffer.from((await this.quarantine.one(id)).body, 'base64'))
    ) {
      throw badParameter(
        'confirm',
        'these bytes are still malformed and would only be quarantined again: tick the confirmation to replay them anyway',
      );
    }
    const { deliveryId } = await this.actions.replayQuarantined(session, id, reason);
    this.done(
      res,
      session,
      `Quarantined item ${id} was published again as delivery ${deliveryId}.`,
      `/console/quarantine/${id}`,
    );
  }

  @Post('quarantine/:id/resolve')
  async resolveItem(
    @Param('id', RowId) id: string,
    @Session() session: SessionView,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const reason = formReason(await readForm(req));
    await this.actions.resolveQuarantined(session, id, reason);
    this.done(
      res,
      session,
      `Quarantined item ${id} is marked resolved: it needs no replay.`,
      `/console/quarantine/${id}`,
    );
  }

  @Get('dead-letters')
  async deadLetterList(@Session() session: SessionView, @Res() res: Response): Promise<void> {
    const [count, letters] = await Promise.all([this.deadLetters.count(), this.deadLetters.peek(20)]);
    this.views.send(
      res,
      'dead-letters',
      { title: 'Dead letters', nav: 'dead-letters', count, letters },
      session,
    );
  }

  @Post('dead-letters/move')
  async moveBack(@Session() session: SessionView, @Req() req: Request, @Res() res: Response): Promise<void> {
    const form = await readForm(req);
    const reason = formReason(form);
    const limitText = form.get('limit')?.trim() ?? '';
    const limit = limitText === '' ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
      throw badParameter('limit', 'must be a positive whole number, or empty for all');
    const { moved } = await this.actions.moveDeadLetters(session, limit, reason);
    this.done(
      res,
      session,
      `${moved} dead-lettered deliveries were moved back to the main queue.`,
      '/console/dead-letters',
    );
  }

  /** The plan first: how many events the range holds; the confirm form only once it was counted. */
  @Get('replay')
  async replayPlan(
    @ConsoleQuery(REPLAY) query: ParsedQuery<typeof REPLAY>,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const planned = query.since !== undefined || query.until !== undefined;
    const range = planned ? rangeOf(query) : null;
    const count = range ? await this.outbox.countReplayable(range) : null;
    this.views.send(
      res,
      'replay',
      { title: 'Replay to the feed', nav: 'replay', query, range, count },
      session,
    );
  }

  @Post('replay')
  async replay(@Session() session: SessionView, @Req() req: Request, @Res() res: Response): Promise<void> {
    const form = await readForm(req);
    const range = rangeOf({
      since: form.get('since') ?? undefined,
      until: form.get('until') ?? undefined,
      name: form.get('name') ?? undefined,
      apiSpaceId: form.get('apiSpaceId') ?? undefined,
    });
    const { events } = await this.actions.replayEvents(session, range, formReason(form));
    this.done(
      res,
      session,
      `${events} events were queued for the feed again, marked x-replayed.`,
      '/console/replay',
    );
  }

  private done(res: Response, session: SessionView, message: string, back: string): void {
    this.views.send(res, 'done', { title: 'Done', message, back }, session);
  }
}

/** Whether kept bytes would be quarantined again as they are: not a well-formed envelope (or batch of them). */
export function stillMalformed(bytes: Buffer): boolean {
  const parsed = parseDelivery(bytes);
  return parsed.problem !== null || parsed.malformed.length > 0 || parsed.envelopes.length === 0;
}

function rangeOf(query: { since?: string; until?: string; name?: string; apiSpaceId?: string }): ReplayRange {
  if (!query.since?.trim()) throw badParameter('since', 'is required: the start of the range to replay');
  const { since, until } = windowOf(query.since, query.until);
  return {
    since,
    until,
    name: query.name?.trim() || undefined,
    apiSpaceId: query.apiSpaceId?.trim() || undefined,
  };
}
