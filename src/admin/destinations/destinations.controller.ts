import { Get, Param, Post, Req, applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConflictResponse, ApiParam } from '@nestjs/swagger';
import type { Request } from 'express';
import {
  DestinationAdmin,
  type ActionResult,
  type DestinationAction,
} from '../../destinations/destination.admin';
import { AdminActions } from '../actions/admin-actions';
import { AdminError } from '../admin.views';
import { reasonOf } from '../http/action-reason';
import { Actor } from '../http/admin-key.guard';
import type { AdminActor } from '../http/admin-keys';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { readJsonBody } from '../http/json-body';
import { DestinationActionRequest, DestinationActionResult, DestinationList } from './destination.views';

/** The docs of one action route: POST /admin/destinations/{name}/<action>, a reason in the body. */
function DestinationActionEndpoint(summary: string): MethodDecorator {
  return applyDecorators(
    AdminEndpoint({
      summary,
      answer: DestinationActionResult,
      notFound: 'No destination of this name in DESTINATIONS_FILE.',
    }),
    ApiParam({ name: 'name', example: 'crm' }),
    ApiBody({ type: DestinationActionRequest }),
    ApiConflictResponse({
      description: "The destination's state does not allow the action.",
      type: AdminError,
    }),
  );
}

@AdminController('destinations')
export class DestinationsController {
  constructor(
    private readonly admin: DestinationAdmin,
    private readonly actions: AdminActions,
  ) {}

  @Get()
  @AdminEndpoint({
    summary: 'The HTTP destinations: state, pending, failed, oldest pending age, last error',
    answer: DestinationList,
  })
  async list(): Promise<DestinationList> {
    return { items: (await this.admin.list()).map((item) => ({ ...item, filter: [...item.filter] })) };
  }

  @Post(':name/pause')
  @DestinationActionEndpoint('Pause a destination: its events are held until resumed')
  pause(@Param('name') name: string, @Actor() actor: AdminActor, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'pause', actor, req);
  }

  @Post(':name/resume')
  @DestinationActionEndpoint('Resume a paused destination: its held events are sent, oldest first')
  resume(
    @Param('name') name: string,
    @Actor() actor: AdminActor,
    @Req() req: Request,
  ): Promise<ActionResult> {
    return this.act(name, 'resume', actor, req);
  }

  @Post(':name/enable')
  @DestinationActionEndpoint('Enable a destination disabled by a 410: its held events are sent')
  enable(
    @Param('name') name: string,
    @Actor() actor: AdminActor,
    @Req() req: Request,
  ): Promise<ActionResult> {
    return this.act(name, 'enable', actor, req);
  }

  @Post(':name/retry')
  @DestinationActionEndpoint('Send the failed events of a destination again')
  retry(@Param('name') name: string, @Actor() actor: AdminActor, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'retry', actor, req);
  }

  private async act(
    name: string,
    action: DestinationAction,
    actor: AdminActor,
    req: Request,
  ): Promise<ActionResult> {
    return this.actions.actOnDestination(actor, name, action, reasonOf(await readJsonBody(req)));
  }
}
