import { Get, HttpStatus, Param, ParseIntPipe, Post } from '@nestjs/common';
import { QuarantineDetail, QuarantinePage, ReplayAccepted } from '../admin.views';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { AdminCursors } from '../http/admin-cursors';
import {
  PAGE_PARAMS,
  ValidQuery,
  badParameter,
  isoInstant,
  text,
  type ParsedQuery,
} from '../http/query-params';
import { QuarantineService } from './quarantine.service';

const QUARANTINE_FILTERS = {
  since: {
    schema: isoInstant.optional(),
    description: 'received_at at or after (ISO 8601).',
    type: 'string',
  },
  until: { schema: isoInstant.optional(), description: 'received_at before (ISO 8601).', type: 'string' },
  deliveryId: {
    schema: text().optional(),
    description: 'The X-Delivery-Id of the HTTP delivery.',
    type: 'string',
  },
  ...PAGE_PARAMS,
} as const;

/** The row id: a positive integer, else 400 naming `id`. */
const RowId = () =>
  new ParseIntPipe({ exceptionFactory: () => badParameter('id', 'must be a positive whole number') });

@AdminController('quarantine')
export class QuarantineController {
  constructor(
    private readonly quarantine: QuarantineService,
    private readonly cursors: AdminCursors,
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
    return this.quarantine.list(filters, limit, cursor, this.cursors.codec);
  }

  @Get(':id')
  @AdminEndpoint({
    summary: 'One kept delivery or item, with its bytes',
    answer: QuarantineDetail,
    notFound: 'No such row.',
  })
  one(@Param('id', RowId()) id: number): Promise<QuarantineDetail> {
    return this.quarantine.one(positive(id));
  }

  @Post(':id/replay')
  @AdminEndpoint({
    summary: 'Send the kept bytes through the normal path again, as a new delivery',
    description:
      'A whole delivery is published as it was; an item alone. The row stays, with replayedAt and replayDeliveryId.',
    answer: ReplayAccepted,
    status: HttpStatus.ACCEPTED,
    notFound: 'No such row.',
  })
  replay(@Param('id', RowId()) id: number): Promise<ReplayAccepted> {
    return this.quarantine.replay(positive(id));
  }
}

function positive(id: number): string {
  if (id < 1) throw badParameter('id', 'must be a positive whole number');
  return String(id);
}
