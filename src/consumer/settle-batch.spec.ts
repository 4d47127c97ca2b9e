import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { settleBatch, type Pending } from './settle-batch';

function pendingOf(tag: number, log: string[]): Pending {
  const channel = {
    ack: (m: ConsumeMessage) => log.push(`ack ${m.fields.deliveryTag}`),
    nack: (m: ConsumeMessage, _all: boolean, requeue: boolean) =>
      log.push(`nack ${m.fields.deliveryTag} requeue=${requeue}`),
  } as unknown as ConfirmChannel;
  return { message: { fields: { deliveryTag: tag } } as unknown as ConsumeMessage, channel };
}

describe(settleBatch.name, () => {
  it('acks stored deliveries, and dead-letters the others before acking them', async () => {
    const log: string[] = [];
    const batch = [1, 2, 3].map((tag) => pendingOf(tag, log));
    await settleBatch(
      batch,
      [{ stored: true }, { stored: false, reason: 'bad' }, { stored: true }],
      (message, reason) =>
        Promise.resolve(void log.push(`dead-letter ${message.fields.deliveryTag}: ${reason}`)),
      () => log.push('failure'),
    );
    expect(log).toEqual(['ack 1', 'dead-letter 2: bad', 'ack 2', 'ack 3']);
  });

  it('returns a delivery to the queue when its dead letter is not confirmed, and goes on', async () => {
    const log: string[] = [];
    const batch = [1, 2].map((tag) => pendingOf(tag, log));
    await settleBatch(
      batch,
      [{ stored: false, reason: 'bad' }, { stored: true }],
      () => Promise.reject(new Error('no confirm')),
      (err) => log.push(`failure: ${err.message}`),
    );
    expect(log).toEqual(['failure: no confirm', 'nack 1 requeue=true', 'ack 2']);
  });

  it('survives a channel that closed meanwhile (the broker redelivers)', async () => {
    const closed = {
      ack: () => {
        throw new Error('Channel closed');
      },
    } as unknown as ConfirmChannel;
    const batch = [{ message: { fields: { deliveryTag: 1 } } as unknown as ConsumeMessage, channel: closed }];
    await expect(settleBatch(batch, [{ stored: true }], jest.fn(), jest.fn())).resolves.toBeUndefined();
  });
});
