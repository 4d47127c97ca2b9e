import { Get, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { AdminAudit } from '../admin/audit/admin-audit';
import { EVENT_FILTERS } from '../admin/events/events.controller';
import { AdminCursors } from '../admin/http/admin-cursors';
import { PAGE_PARAMS, optionalText, type ParsedQuery } from '../admin/http/query-params';
import { clearSessionCookie, Session, sessionCookie } from './console-auth';
import { ConsoleReads } from './console-reads';
import { DeliveryReads } from './delivery-reads';
import { EntityTrail } from './entity-trail';
import { ConsoleSessions, type SessionView } from './console-sessions';
import { ConsoleViews } from './console-views';
import { ConsoleController } from './console.decorators';
import { ConsoleQuery } from './console-query';
import { OverviewService } from './overview.service';
import { parsePayloadSearch, windowOf } from './payload-search';

const { since: _since, until: _until, ...LIST_FILTERS } = EVENT_FILTERS;
const SEARCH = {
  ...LIST_FILTERS,
  since: { schema: z.string().optional(), description: 'window start', openapi: { type: 'string' } },
  until: { schema: z.string().optional(), description: 'window end', openapi: { type: 'string' } },
  search: { schema: z.string().max(1100).optional(), description: 'path=value', openapi: { type: 'string' } },
} as const;
const SPACE = {
  apiSpaceId: { schema: optionalText().optional(), description: 'API space', openapi: { type: 'string' } },
} as const;

/** The reading pages: overview, events and payload search, one event, an entity's timeline, the audit trail. */
@ConsoleController()
export class PagesController {
  constructor(
    private readonly views: ConsoleViews,
    private readonly overview: OverviewService,
    private readonly reads: ConsoleReads,
    private readonly deliveries: DeliveryReads,
    private readonly entityTrail: EntityTrail,
    private readonly sessions: ConsoleSessions,
    private readonly audit: AdminAudit,
    private readonly cursors: AdminCursors,
  ) {}

  @Get()
  async home(@Session() session: SessionView, @Res() res: Response): Promise<void> {
    this.views.send(
      res,
      'overview',
      { title: 'Overview', nav: 'overview', o: await this.overview.read() },
      session,
    );
  }

  @Post('logout')
  async signOut(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.close(sessionCookie(req)!);
    clearSessionCookie(req, res);
    res.redirect(303, '/console/login');
  }

  @Get('events')
  async events(
    @ConsoleQuery(SEARCH) { limit, cursor, since, until, search, ...filters }: ParsedQuery<typeof SEARCH>,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const window = windowOf(since, until);
    const match = parsePayloadSearch(search);
    const [page, kept] = await Promise.all([
      this.reads.search(filters, match, window, limit, cursor),
      // Quarantined JSON matching the search, shown once, beside the first page of events.
      match && cursor === undefined ? this.entityTrail.searchQuarantine(match, window) : [],
    ]);
    const form = { ...filters, search: search ?? '', since: since ?? '', until: until ?? '' };
    const span = { since: window.since.toISOString(), until: window.until.toISOString() };
    this.views.send(
      res,
      'events',
      { title: 'Events', nav: 'events', page, kept, form, span, limit },
      session,
    );
  }

  @Get('events/:eventId')
  async event(
    @Param('eventId') eventId: string,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const found = await this.reads.event(eventId);
    if (!found) throw new NotFoundException(`No stored event has the eventId ${eventId}.`);
    this.views.send(res, 'event', { title: `Event ${eventId}`, nav: 'events', ...found }, session);
  }

  @Get('deliveries/:deliveryId')
  async delivery(
    @Param('deliveryId') deliveryId: string,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const found = await this.deliveries.delivery(deliveryId);
    if (!found) throw new NotFoundException(`Nothing is known of a delivery ${deliveryId}.`);
    const title = `Delivery ${deliveryId}`;
    this.views.send(res, 'delivery', { title, nav: 'events', deliveryId, ...found }, session);
  }

  @Get('entities/:entityType/:entityId')
  async entity(
    @Param('entityType') entityType: string,
    @Param('entityId') entityId: string,
    @ConsoleQuery(SPACE) { apiSpaceId }: ParsedQuery<typeof SPACE>,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const title = `${entityType} ${entityId}`;
    let space = apiSpaceId;
    if (space === undefined) {
      const spaces = await this.reads.spacesOf(entityType, entityId);
      if (spaces.length > 1) {
        return this.views.send(
          res,
          'spaces',
          { title, nav: 'events', entityType, entityId, spaces },
          session,
        );
      }
      space = spaces[0] ?? '';
    }
    const timeline = (await this.reads.timeline(entityType, entityId, space)) ?? { state: null, steps: [] };
    const eventIds = timeline.steps.map((step) => step.event.eventId);
    const trail = await this.entityTrail.of({ entityType, entityId, apiSpaceId: space }, eventIds);
    if (
      timeline.steps.length === 0 &&
      !timeline.state &&
      trail.quarantined.length === 0 &&
      !trail.deadLettered?.length
    )
      throw new NotFoundException(`Nothing is stored about ${entityType} ${entityId}.`);
    this.views.send(
      res,
      'entity',
      { title, nav: 'events', entityType, entityId, space, ...timeline, ...trail },
      session,
    );
  }

  @Get('audit')
  async trail(
    @ConsoleQuery(PAGE_PARAMS) { limit, cursor }: ParsedQuery<typeof PAGE_PARAMS>,
    @Session() session: SessionView,
    @Res() res: Response,
  ): Promise<void> {
    const page = await this.audit.list(limit, cursor, this.cursors.audit);
    this.views.send(res, 'audit', { title: 'Audit trail', nav: 'audit', page, limit }, session);
  }
}
