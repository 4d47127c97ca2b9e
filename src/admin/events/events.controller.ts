import { Get, HttpStatus, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { AdminActions } from '../actions/admin-actions';
import { EntityStory, EventPage, EventView, EventsReplayed, ReplayRequest } from '../admin.views';
import { reasonOf } from '../http/action-reason';
import { Actor } from '../http/admin-key.guard';
import type { AdminActor } from '../http/admin-keys';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { AdminCursors } from '../http/admin-cursors';
import { readJsonBody } from '../http/json-body';
import {
  PAGE_PARAMS,
  ValidQuery,
  badParameter,
  isoInstant,
  optionalText,
  text,
  type ParsedQuery,
} from '../http/query-params';
import { EventQueries } from './event.queries';

export const EVENT_FILTERS = {
  name: { schema: text(200).optional(), description: 'Event name, e.g. message.read.', type: 'string' },
  apiSpaceId: { schema: text().optional(), description: 'API space.', type: 'string' },
  entityType: {
    schema: text(200).optional(),
    description: 'The part of the name before the dot, e.g. message.',
    type: 'string',
  },
  entityId: { schema: text().optional(), description: 'payload.messageId, else payload.id.', type: 'string' },
  outcome: {
    schema: z
      .enum(['applied', 'stale', 'untracked'], { message: 'must be applied, stale or untracked' })
      .optional(),
    description: 'What the event did to its entity.',
    type: 'string',
    enum: ['applied', 'stale', 'untracked'],
  },
  deliveryId: {
    schema: text().optional(),
    description: 'The X-Delivery-Id of the HTTP delivery.',
    type: 'string',
  },
  since: {
    schema: isoInstant.optional(),
    description: 'received_at at or after (ISO 8601).',
    type: 'string',
    example: '2026-11-20T00:00:00Z',
  },
  until: { schema: isoInstant.optional(), description: 'received_at before (ISO 8601).', type: 'string' },
  ...PAGE_PARAMS,
} as const;

const SPACE = {
  apiSpaceId: {
    schema: optionalText().default(''),
    description: 'The API space of the entity (default: none).',
    type: 'string',
  },
} as const;

const replayRequest = z.object({
  since: isoInstant,
  until: isoInstant,
  name: text(200).optional(),
  apiSpaceId: text().optional(),
});

@AdminController('')
export class EventsController {
  constructor(
    private readonly queries: EventQueries,
    private readonly cursors: AdminCursors,
    private readonly actions: AdminActions,
  ) {}

  @Get('events')
  @AdminEndpoint({ summary: 'Find stored events, newest first', query: EVENT_FILTERS, answer: EventPage })
  events(
    @ValidQuery(EVENT_FILTERS) { limit, cursor, ...filters }: ParsedQuery<typeof EVENT_FILTERS>,
  ): Promise<EventPage> {
    return this.queries.list(filters, limit, cursor, this.cursors.events);
  }

  @Get('events/:eventId')
  @AdminEndpoint({ summary: 'One stored event', answer: EventView, notFound: 'No event with this eventId.' })
  async event(@Param('eventId') eventId: string): Promise<EventView> {
    return (await this.queries.one(eventId)) ?? notFound(`no event ${eventId}`);
  }

  @Get('entities/:entityType/:entityId')
  @AdminEndpoint({
    summary: "An entity's story: its state and every event about it",
    description:
      'For a message: its latest state, and every stored event naming its id (its own and interactions), by revision.',
    query: SPACE,
    answer: EntityStory,
    notFound: 'Neither a state nor an event for this entity.',
  })
  async entity(
    @Param('entityType') entityType: string,
    @Param('entityId') entityId: string,
    @ValidQuery(SPACE) { apiSpaceId }: ParsedQuery<typeof SPACE>,
  ): Promise<EntityStory> {
    return (
      (await this.queries.story(entityType, entityId, apiSpaceId)) ??
      notFound(`no entity ${entityType}/${entityId}`)
    );
  }

  @Post('events/replay')
  @AdminEndpoint({
    summary: 'Publish stored events of a time range to the feed again (x-replayed)',
    description: 'Needs an operator key and a reason; audited.',
    answer: EventsReplayed,
    status: HttpStatus.ACCEPTED,
  })
  @ApiBody({
    type: ReplayRequest,
    examples: {
      day: {
        value: {
          since: '2026-11-20T00:00:00Z',
          until: '2026-11-21T00:00:00Z',
          reason: 'new consumer backfill',
        },
      },
    },
  })
  async replay(@Req() req: Request, @Actor() actor: AdminActor): Promise<EventsReplayed> {
    const body = await readJsonBody(req);
    const parsed = replayRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badParameter(String(issue.path[0] ?? 'body'), issue.message);
    }
    if (parsed.data.until <= parsed.data.since) throw badParameter('until', 'must be later than since');
    return this.actions.replayEvents(actor, parsed.data, reasonOf(body));
  }
}

function notFound(message: string): never {
  throw new NotFoundException(message);
}
