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
export async function publishConfirmed(
  channel: ConfirmChannel,
  target: { exchange: string; routingKey: string },
  content: Buffer,
  properties: Options.Publish,
  limits: PublishLimits,
  watch: ConfirmWatch,
): Promise<void> {
  let failure: BrokerUnavailableError | undefined;
  await publishAllConfirmed(channel, [{ ...target, content, properties }], limits, () =>
    watch.onTimeout(),
  ).catch((err: BrokerUnavailableError) => (failure = err));
  // Asked even after a failure: a return is reported once, and must not be left for a later publish.
  const returned = properties.mandatory === true && watch.wasReturned(properties.messageId ?? '');
  if (failure) throw failure;
  if (returned) throw new BrokerUnavailableError('the broker returned the message as unroutable');
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' && err ? err : 'negative acknowledgement';
}

/** One message of publishAllConfirmed; a returned mandatory message is for the caller to ask about. */
export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

/**
 * Publishes persistent messages in order on a confirm channel and resolves once the broker confirmed
 * every one: one promise and one timer for the batch, not one of each per message (the relay
 * publishes up to thousands per round). Rejects with BrokerUnavailableError at the
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
      const which = messages.length === 1 ? '' : ` of ${outstanding} messages`;
      finish(new BrokerUnavailableError(`no broker confirm${which} within ${timeoutMs} ms`));
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
