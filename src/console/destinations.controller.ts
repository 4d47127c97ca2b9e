import { Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AdminActions } from '../admin/actions/admin-actions';
import { badParameter } from '../admin/http/query-params';
import { DestinationAdmin, type DestinationAction } from '../destinations/destination.admin';
import { Session } from './console-auth';
import { formReason, readForm } from './console-form';
import type { SessionView } from './console-sessions';
import { ConsoleViews } from './console-views';
import { ConsoleController } from './console.decorators';

const ACTIONS: readonly DestinationAction[] = ['pause', 'resume', 'enable', 'retry'];

/** What each action did, in words, for the page after it. */
const DONE: Record<DestinationAction, (name: string, retried?: number) => string> = {
  pause: (name) => `${name} is paused: its events are held until it is resumed.`,
  resume: (name) => `${name} is active again: its held events are sent, oldest first.`,
  enable: (name) => `${name} is enabled: the events held since its 410 are sent, oldest first.`,
  retry: (name, retried) => `${retried ?? 0} failed events of ${name} are pending again.`,
};

/** The HTTP destinations: their state at a glance, and pause, resume, enable and retry with a reason. */
@ConsoleController('destinations')
export class DestinationsPageController {
  constructor(
    private readonly views: ConsoleViews,
    private readonly destinations: DestinationAdmin,
    private readonly actions: AdminActions,
  ) {}

  @Get()
  async list(@Session() session: SessionView, @Res() res: Response): Promise<void> {
    const items = await this.destinations.list();
    this.views.send(res, 'destinations', { title: 'Destinations', nav: 'destinations', items }, session);
  }

  @Post(':name/:action')
  async act(
    @Param('name') name: string,
    @Param('action') action: string,
    @Session() session: SessionView,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    if (!ACTIONS.includes(action as DestinationAction))
      throw badParameter('action', `must be one of ${ACTIONS.join(', ')}`);
    const reason = formReason(await readForm(req));
    const done = await this.actions.actOnDestination(session, name, action as DestinationAction, reason);
    const message = done.changed
      ? DONE[action as DestinationAction](name, done.retried)
      : `Nothing to do: ${name} is ${done.state}.`;
    this.views.send(res, 'done', { title: 'Done', message, back: '/console/destinations' }, session);
  }
}
