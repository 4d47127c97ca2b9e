import type { ConfirmChannel, Options } from 'amqplib';
import { BrokerUnavailableError } from './broker-unavailable.error';

export interface PublishLimits {
  timeoutMs: number;
  /** Aborting gives up waiting (shutdown); the message may still reach the broker. */
  signal?: AbortSignal;
}

export interface ConfirmWatch {
  /** True (once) when the broker returned this mandatory message as unroutable before confirming it. */
  wasReturned(messageId: string): boolean;
  /** Called when no confirm came in time. */
  onTimeout(): void;
}

/**
 * Publishes one persistent message on a confirm channel and resolves only on the broker's confirm
 * of that very message. Every other end rejects with BrokerUnavailableError: a nack, a mandatory
 * message returned as unroutable, the channel closing (amqplib fails pending confirms), an error
 * thrown by publish, no confirm within the limit, or the caller giving up (signal).
 */
export function publishConfirmed(
  channel: ConfirmChannel,
  target: { exchange: string; routingKey: string },
  content: Buffer,
  properties: Options.Publish,
  { timeoutMs, signal }: PublishLimits,
  watch: ConfirmWatch,
): Promise<void> {
  const returnId = properties.mandatory ? properties.messageId : undefined;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: BrokerUnavailableError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (returnId !== undefined && watch.wasReturned(returnId) && !error)
        error = new BrokerUnavailableError('the broker returned the message as unroutable');
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => {
      finish(new BrokerUnavailableError(`no broker confirm within ${timeoutMs} ms`));
      watch.onTimeout();
    }, timeoutMs);
    const onAbort = () => finish(new BrokerUnavailableError('gave up waiting for the broker: shutting down'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      channel.publish(
        target.exchange,
        target.routingKey,
        content,
        { persistent: true, ...properties },
        (err: unknown) =>
          finish(
            err ? new BrokerUnavailableError(`the broker did not confirm: ${describe(err)}`) : undefined,
          ),
      );
    } catch (err) {
      finish(new BrokerUnavailableError(`publish failed: ${describe(err)}`));
    }
  });
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' && err ? err : 'negative acknowledgement';
}
