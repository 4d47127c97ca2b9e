import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { DeliveryVerdict } from './event.processor';

export interface Pending {
  message: ConsumeMessage;
  channel: ConfirmChannel;
}

/**
 * Acknowledges a stored batch by its verdicts: a stored delivery is acked; one that could not be
 * stored is dead-lettered first and acked only once the broker confirmed the copy; when that fails
 * it goes back to the queue (nack, requeue). Nothing is acked that is neither stored nor copied.
 */
export async function settleBatch(
  batch: readonly Pending[],
  verdicts: readonly DeliveryVerdict[],
  deadLetter: (message: ConsumeMessage, reason: string) => Promise<void>,
  onDeadLetterFailure: (err: Error) => void,
): Promise<void> {
  for (const [i, verdict] of verdicts.entries()) {
    const { message, channel } = batch[i];
    if (!verdict.stored) {
      try {
        await deadLetter(message, verdict.reason);
      } catch (err) {
        onDeadLetterFailure(err as Error);
        settle(() => channel.nack(message, false, true));
        continue;
      }
    }
    settle(() => channel.ack(message));
  }
}

/** Acks or nacks; when the channel has closed meanwhile the broker redelivers, and storage ignores repeats. */
export function settle(operation: () => void): void {
  try {
    operation();
  } catch {
    // channel already closed
  }
}
