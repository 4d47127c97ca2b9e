import { Get, Post, Req } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { Request } from 'express';
import { DeadLetterQueue } from '../../messaging/dead-letter.queue';
import { AdminActions } from '../actions/admin-actions';
import { ActionReason, DeadLetterCount, DeadLettersMoved } from '../admin.views';
import { reasonOf } from '../http/action-reason';
import { Actor } from '../http/admin-key.guard';
import type { AdminActor } from '../http/admin-keys';
import { readJsonBody } from '../http/json-body';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { ValidQuery, param, type ParsedQuery, type QueryParams } from '../http/query-params';

const MOVE = {
  limit: { ...param.count(), description: 'Move at most this many (default: all).' },
} satisfies QueryParams;

@AdminController('dead-letters')
export class DeadLettersController {
  constructor(
    private readonly deadLetters: DeadLetterQueue,
    private readonly actions: AdminActions,
  ) {}

  @Get()
  @AdminEndpoint({ summary: 'How many deliveries wait in the dead-letter queue', answer: DeadLetterCount })
  async count(): Promise<DeadLetterCount> {
    return { messages: await this.deadLetters.count() };
  }

  @Post('replay')
  @AdminEndpoint({
    summary: 'Move dead-lettered deliveries back to the main queue',
    description:
      'Each move is confirmed by the broker before the dead letter is removed: a crash repeats at most one. ' +
      'Needs an operator key and a reason; audited.',
    query: MOVE,
    answer: DeadLettersMoved,
  })
  @ApiBody({ type: ActionReason })
  async replay(
    @ValidQuery(MOVE) { limit }: ParsedQuery<typeof MOVE>,
    @Actor() actor: AdminActor,
    @Req() req: Request,
  ): Promise<DeadLettersMoved> {
    return this.actions.moveDeadLetters(actor, limit, reasonOf(await readJsonBody(req)));
  }
}
