import { Get, HttpStatus, Param, Post, Req, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiConflictResponse, ApiParam } from '@nestjs/swagger';
import type { Request } from 'express';
import { AdminActions } from '../actions/admin-actions';
import {
  ActionReason,
  AdminError,
  QuarantineDetail,
  QuarantinePage,
  QuarantineResolved,
  ReplayAccepted,
} from '../admin.views';
import { reasonOf } from '../http/action-reason';
import { Actor } from '../http/admin-key.guard';
import type { AdminActor } from '../http/admin-keys';
import { readJsonBody } from '../http/json-body';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { AdminCursors } from '../http/admin-cursors';
import {
  PAGE_PARAMS,
  ValidQuery,
  badParameter,
  checkWindow,
  param,
  type ParsedQuery,
  type QueryParams,
} from '../http/query-params';
import { QUARANTINE_STATES, QuarantineService } from './quarantine.service';

const QUARANTINE_FILTERS = {
  since: { ...param.instant(), description: 'received_at at or after (ISO 8601).' },
  until: { ...param.instant(), description: 'received_at before (ISO 8601); later than since.' },
  deliveryId: { ...param.text(), description: 'The X-Delivery-Id of the HTTP delivery.' },
  reason: { ...param.text(2000), description: 'Exactly this reason (as listed in items[].reason).' },
  state: {
    ...param.oneOf(QUARANTINE_STATES),
    description: 'open (neither replayed nor resolved), replayed, or resolved.',
  },
  ...PAGE_PARAMS,
} satisfies QueryParams;

const BIGINT_MAX = 9223372036854775807n;

/**
 * The same bounds in /docs-json. JSON numbers are doubles: the maximum reads as 2^63, one above the
 * last id the service takes, the nearest a document can say.
 */
const ROW_ID = { type: 'integer', format: 'int64', minimum: 1, maximum: Number(BIGINT_MAX) } as const;

/** The row id (bigint): a whole number from 1 to 2^63 - 1, kept as exact text; else 400 naming `id`. */
export class RowId implements PipeTransform<string, string> {
  transform(value: string): string {
    const id = /^\d{1,19}$/.test(value) ? BigInt(value) : 0n;
    if (id < 1n || id > BIGINT_MAX)
      throw badParameter('id', `must be a whole number from 1 to ${BIGINT_MAX}`);
    return id.toString();
  }
}

@AdminController('quarantine')
export class QuarantineController {
  constructor(
    private readonly quarantine: QuarantineService,
    private readonly cursors: AdminCursors,
    private readonly actions: AdminActions,
  ) {}

  @Get()
  @AdminEndpoint({
    summary: 'Deliveries and items kept because they could not be stored',
    query: QUARANTINE_FILTERS,
    answer: QuarantinePage,
  })
  list(
    @ValidQuery(QUARANTINE_FILTERS) { limit, cursor, ...filters }: ParsedQuery<typeof QUARANTINE_FILTERS>,
  ): Promise<QuarantinePage> {
    checkWindow(filters);
    return this.quarantine.list(filters, limit, cursor, this.cursors.quarantine);
  }

  @Get(':id')
  @AdminEndpoint({
    summary: 'One kept delivery or item, with its bytes',
    answer: QuarantineDetail,
    notFound: 'No such row.',
  })
  @ApiParam({ name: 'id', schema: ROW_ID, example: 17 })
  one(@Param('id', RowId) id: string): Promise<QuarantineDetail> {
    return this.quarantine.one(id);
  }

  @Post(':id/replay')
  @AdminEndpoint({
    summary: 'Send the kept bytes through the normal path again, as a new delivery',
    description:
      'A whole delivery is published as it was; an item alone. The row stays, with replayedAt and replayDeliveryId. ' +
      'Needs an operator key and a reason; audited.',
    answer: ReplayAccepted,
    status: HttpStatus.ACCEPTED,
    notFound: 'No such row.',
  })
  @ApiParam({ name: 'id', schema: ROW_ID, example: 17 })
  @ApiBody({ type: ActionReason })
  @ApiConflictResponse({ description: 'Already replayed: nothing was done.', type: AdminError })
  async replay(
    @Param('id', RowId) id: string,
    @Actor() actor: AdminActor,
    @Req() req: Request,
  ): Promise<ReplayAccepted> {
    return this.actions.replayQuarantined(actor, id, reasonOf(await readJsonBody(req)));
  }

  @Post(':id/resolve')
  @AdminEndpoint({
    summary: 'Mark a kept delivery or item resolved: it needs no replay',
    description:
      'The row stays, with resolvedAt and resolvedReason; it can no longer be replayed. ' +
      'Needs an operator key and a reason; audited.',
    answer: QuarantineResolved,
    notFound: 'No such row.',
  })
  @ApiParam({ name: 'id', schema: ROW_ID, example: 17 })
  @ApiBody({ type: ActionReason })
  @ApiConflictResponse({ description: 'Already replayed or resolved: nothing was done.', type: AdminError })
  async resolve(
    @Param('id', RowId) id: string,
    @Actor() actor: AdminActor,
    @Req() req: Request,
  ): Promise<QuarantineResolved> {
    return this.actions.resolveQuarantined(actor, id, reasonOf(await readJsonBody(req)));
  }
}
