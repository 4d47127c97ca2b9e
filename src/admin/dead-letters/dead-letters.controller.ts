import { Get, Post } from '@nestjs/common';
import { z } from 'zod';
import { DeadLetterQueue } from '../../messaging/dead-letter.queue';
import { DeadLetterCount, DeadLettersMoved } from '../admin.views';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { ValidQuery, type ParsedQuery } from '../http/query-params';

const MOVE = {
  limit: {
    schema: z.coerce
      .number({ invalid_type_error: 'must be a positive whole number' })
      .int('must be a positive whole number')
      .min(1, 'must be a positive whole number')
      .optional(),
    description: 'Move at most this many (default: all).',
    type: 'integer',
  },
} as const;

@AdminController('dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetterQueue) {}

  @Get()
  @AdminEndpoint({ summary: 'How many deliveries wait in the dead-letter queue', answer: DeadLetterCount })
  async count(): Promise<DeadLetterCount> {
    return { messages: await this.deadLetters.count() };
  }

  @Post('replay')
  @AdminEndpoint({
    summary: 'Move dead-lettered deliveries back to the main queue',
    description:
      'Each move is confirmed by the broker before the dead letter is removed: a crash repeats at most one.',
    query: MOVE,
    answer: DeadLettersMoved,
  })
  async replay(@ValidQuery(MOVE) { limit }: ParsedQuery<typeof MOVE>): Promise<DeadLettersMoved> {
    return { moved: await this.deadLetters.moveBack(limit) };
  }
}
