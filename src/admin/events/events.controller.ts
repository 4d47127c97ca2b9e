import { ConflictException, Get, HttpStatus, NotFoundException, Param, Post, Req } from '@nestjs/common';
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
  checkWindow,
  isoInstant,
  param,
  text,
  type ParsedQuery,
  type QueryParams,
} from '../http/query-params';
import { EventQueries } from './event.queries';

export const EVENT_FILTERS = {
  name: { ...param.text(200), description: 'Event name, e.g. message.read.' },
  apiSpaceId: { ...param.text(), description: 'API space.' },
  entityType: { ...param.text(200), description: 'The part of the name before the dot, e.g. message.' },
  entityId: {
    ...param.text(),
    description:
      'The entity id: payload.messageId, else payload.id, else payload.profileId, else the top-level profileId.',
  },
  outcome: {
    ...param.oneOf(['applied', 'stale', 'untracked'] as const),
    description: 'What the event did to its entity.',
  },
  deliveryId: { ...param.text(), description: 'The X-Delivery-Id of the HTTP delivery.' },
  since: {
    ...param.instant(),
    description: 'received_at at or after (ISO 8601).',
    example: '2026-11-20T00:00:00Z',
  },
  until: { ...param.instant(), description: 'received_at before (ISO 8601); later than since.' },
  ...PAGE_PARAMS,
} satisfies QueryParams;

const SPACE = {
  apiSpaceId: {
    ...param.textOrEmpty(),
    description:
      'The API space of the entity; empty for events that carry none. Without it: the space the entity ' +
      'exists in, or 409 naming its spaces when it exists in several.',
  },
} satisfies QueryParams;

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
    checkWindow(filters);
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
    notFound: 'Neither a state nor an event for this entity (in this API space).',
    ambiguous: 'No apiSpaceId, and the entity exists in several API spaces: they are named.',
  })
  async entity(
    @Param('entityType') entityType: string,
    @Param('entityId') entityId: string,
    @ValidQuery(SPACE) { apiSpaceId }: ParsedQuery<typeof SPACE>,
  ): Promise<EntityStory> {
    const space = apiSpaceId ?? (await this.onlySpaceOf(entityType, entityId));
    return (
      (await this.queries.story(entityType, entityId, space)) ??
      notFound(`no entity ${entityType}/${entityId}`)
    );
  }

  /** The one space an entity exists in ('' when none: the story is then 404); 409 naming them when several. */
  private async onlySpaceOf(entityType: string, entityId: string): Promise<string> {
    const spaces = await this.queries.spacesOf(entityType, entityId);
    if (spaces.length > 1) {
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: `${entityType}/${entityId} exists in ${spaces.length} API spaces: pass apiSpaceId`,
        apiSpaceIds: spaces,
      });
    }
    return spaces[0] ?? '';
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
    checkWindow(parsed.data);
    return this.actions.replayEvents(actor, parsed.data, reasonOf(body));
  }
}

function notFound(message: string): never {
  throw new NotFoundException(message);
}
