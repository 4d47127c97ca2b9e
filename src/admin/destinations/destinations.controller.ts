import { Get, Param, Post, Req } from '@nestjs/common';
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

const ACTIONS: Record<DestinationAction, string> = {
  pause: 'Hold its events (nothing is sent until resumed)',
  resume: 'Send again, oldest first',
  enable: 'Enable a destination disabled by a 410; its held events are sent',
  retry: 'Send its failed events again',
};

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

  @Post(':name/:action')
  @AdminEndpoint({
    summary: 'pause, resume, enable or retry a destination (with a reason)',
    description: Object.entries(ACTIONS)
      .map(([action, what]) => `${action}: ${what}.`)
      .join(' '),
    answer: DestinationActionResult,
    notFound: 'No destination of this name in DESTINATIONS_FILE.',
  })
  @ApiParam({ name: 'name', example: 'crm' })
  @ApiParam({ name: 'action', enum: Object.keys(ACTIONS) })
  @ApiBody({ type: DestinationActionRequest })
  @ApiConflictResponse({
    description: "The destination's state does not allow the action.",
    type: AdminError,
  })
  async act(
    @Param('name') name: string,
    @Param('action') action: string,
    @Req() req: Request,
  ): Promise<ActionResult> {
    if (!Object.hasOwn(ACTIONS, action))
      throw badParameter('action', `must be one of ${Object.keys(ACTIONS).join(', ')}`);
    const parsed = actionRequest.safeParse(await readJsonBody(req));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badParameter(String(issue.path[0] ?? 'body'), issue.message);
    }
    return this.admin.act(name, action as DestinationAction, parsed.data.reason);
  }
}
