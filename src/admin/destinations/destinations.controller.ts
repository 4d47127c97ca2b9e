import { Get, Param, Post, Req, applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConflictResponse, ApiParam } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import {
  DestinationAdmin,
  type ActionResult,
  type DestinationAction,
} from '../../destinations/destination.admin';
import { AdminError } from '../admin.views';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { readJsonBody } from '../http/json-body';
import { badParameter } from '../http/query-params';
import { DestinationActionRequest, DestinationActionResult, DestinationList } from './destination.views';

const actionRequest = z.object({
  reason: z.string({ required_error: 'is required' }).trim().min(3, 'must be at least 3 characters'),
});

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
  constructor(private readonly admin: DestinationAdmin) {}

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
  pause(@Param('name') name: string, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'pause', req);
  }

  @Post(':name/resume')
  @DestinationActionEndpoint('Resume a paused destination: its held events are sent, oldest first')
  resume(@Param('name') name: string, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'resume', req);
  }

  @Post(':name/enable')
  @DestinationActionEndpoint('Enable a destination disabled by a 410: its held events are sent')
  enable(@Param('name') name: string, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'enable', req);
  }

  @Post(':name/retry')
  @DestinationActionEndpoint('Send the failed events of a destination again')
  retry(@Param('name') name: string, @Req() req: Request): Promise<ActionResult> {
    return this.act(name, 'retry', req);
  }

  private async act(name: string, action: DestinationAction, req: Request): Promise<ActionResult> {
    const parsed = actionRequest.safeParse(await readJsonBody(req));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badParameter(String(issue.path[0] ?? 'body'), issue.message);
    }
    return this.admin.act(name, action, parsed.data.reason);
  }
}
