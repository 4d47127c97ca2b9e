import { Get, Post } from '@nestjs/common';
import { DeadLetterQueue } from '../../messaging/dead-letter.queue';
import { DeadLetterCount, DeadLettersMoved } from '../admin.views';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { ValidQuery, param, type ParsedQuery, type QueryParams } from '../http/query-params';

const MOVE = {
  limit: { ...param.count(), description: 'Move at most this many (default: all).' },
} satisfies QueryParams;

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
