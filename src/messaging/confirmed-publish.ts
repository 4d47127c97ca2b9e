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

/** One message of a batch (publishAllConfirmed): not mandatory, since nothing watches returns. */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

/**
 * Publishes persistent messages in order on a confirm channel and resolves once the broker confirmed
 * every one: one promise and one timer for the batch, where publishConfirmed costs one of each per
 * message (the relay publishes up to thousands per round). Rejects with BrokerUnavailableError at the
 * first nack, when the channel closes, when a publish throws, when not all confirms came within the
 * limit (onTimeout is called then), or when the caller gives up (signal). Which messages of a failed
 * batch reached the broker is not said: the caller publishes the batch again (at least once).
 */
export function publishAllConfirmed(
  channel: ConfirmChannel,
  messages: readonly OutgoingMessage[],
  { timeoutMs, signal }: PublishLimits,
  onTimeout: () => void,
): Promise<void> {
  if (messages.length === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let outstanding = messages.length;
    let settled = false;
    const finish = (error?: BrokerUnavailableError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const confirmed = (err: unknown) => {
      if (err) finish(new BrokerUnavailableError(`the broker did not confirm: ${describe(err)}`));
      else if (--outstanding === 0) finish();
    };
    const timer = setTimeout(() => {
      finish(
        new BrokerUnavailableError(`no broker confirm of ${outstanding} messages within ${timeoutMs} ms`),
      );
      onTimeout();
    }, timeoutMs);
    const onAbort = () => finish(new BrokerUnavailableError('gave up waiting for the broker: shutting down'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (const message of messages) {
        channel.publish(
          message.exchange,
          message.routingKey,
          message.content,
          { persistent: true, ...message.properties },
          confirmed,
        );
      }
    } catch (err) {
      finish(new BrokerUnavailableError(`publish failed: ${describe(err)}`));
    }
  });
}
