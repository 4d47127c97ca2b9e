import type { ConsumeMessage, Options } from 'amqplib';
import { createHash } from 'node:crypto';
import { traceparentOf, TRACEPARENT_HEADER } from '../tracing/traceparent';

/**
 * One HTTP delivery as it travels through the queue, between the api that received it and the
 * worker that stores it: the exact signed bytes plus what the api knew of them.
 */
export interface DeliveryMessage {
  /** The id the api gave the HTTP delivery (X-Delivery-Id). */
  deliveryId: string;
  receivedAt: Date;
  /** Items in the body (1 for one envelope), so the worker bounds a batch without parsing. */
  itemCount: number;
  body: Buffer;
  /**
   * Set by the api when the delivery must be kept in quarantined_deliveries whole, with this reason,
   * instead of being stored as events (signed with one API space's secret, naming another).
   */
  quarantineReason?: string;
  /** The trace of the publish that brought it (W3C, from the `traceparent` header), when traced. */
  traceparent?: string;
  /**
   * Who signed it, as the signature guard found it: the secret's fingerprint, and its API space
   * (absent for a secret valid for any space). Absent for a replay or a hand-made message.
   */
  signedBy?: { key: string; space?: string };
}

/** Header names of a delivery message: the contract between the api and the worker. */
export const DeliveryHeaders = {
  deliveryId: 'x-delivery-id',
  receivedAt: 'x-received-at',
  itemCount: 'x-item-count',
  failureReason: 'x-failure-reason',
  failedAt: 'x-failed-at',
  quarantineReason: 'x-quarantine-reason',
  /** When an operator moved a dead letter back to the main queue. */
  replayedAt: 'x-replayed-at',
  /** The fingerprint of the secret that signed the delivery, and that secret's API space. */
  signingKey: 'x-signing-key',
  signingSpace: 'x-signing-space',
} as const;

export function deliveryProperties(message: DeliveryMessage): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    messageId: message.deliveryId,
    timestamp: Math.floor(message.receivedAt.getTime() / 1000),
    contentType: 'application/json',
    headers: {
      [DeliveryHeaders.deliveryId]: message.deliveryId,
      [DeliveryHeaders.receivedAt]: message.receivedAt.toISOString(),
      [DeliveryHeaders.itemCount]: message.itemCount,
      ...(message.quarantineReason === undefined
        ? {}
        : { [DeliveryHeaders.quarantineReason]: message.quarantineReason }),
      ...(message.signedBy === undefined ? {} : { [DeliveryHeaders.signingKey]: message.signedBy.key }),
      ...(message.signedBy?.space === undefined
        ? {}
        : { [DeliveryHeaders.signingSpace]: message.signedBy.space }),
    },
  };
}

/** Reads a consumed message; one published by hand, without the api's headers, still gets ids. */
export function deliveryOf(message: ConsumeMessage): DeliveryMessage {
  const headers = message.properties.headers ?? {};
  const deliveryId = String(
    headers[DeliveryHeaders.deliveryId] ??
      message.properties.messageId ??
      `sha256-${createHash('sha256').update(message.content).digest('hex')}`,
  );
  const receivedAtHeader = headers[DeliveryHeaders.receivedAt] as unknown;
  const receivedAt = typeof receivedAtHeader === 'string' ? new Date(receivedAtHeader) : new Date();
  return {
    deliveryId,
    receivedAt: Number.isNaN(receivedAt.getTime()) ? new Date() : receivedAt,
    itemCount: itemCountOf(message),
    body: message.content,
    ...quarantineReasonOf(headers[DeliveryHeaders.quarantineReason]),
    ...signerOf(headers[DeliveryHeaders.signingKey], headers[DeliveryHeaders.signingSpace]),
    ...traceOf(headers[TRACEPARENT_HEADER]),
  };
}

export function itemCountOf(message: ConsumeMessage): number {
  const count = Number(message.properties.headers?.[DeliveryHeaders.itemCount]);
  return Number.isSafeInteger(count) && count > 0 ? count : 1;
}

/** AMQP gives a header string back as a string, or as bytes when it was sent as such. */
function headerText(header: unknown): string | undefined {
  const text = Buffer.isBuffer(header) ? header.toString('utf8') : header;
  return typeof text === 'string' && text !== '' ? text : undefined;
}

function quarantineReasonOf(header: unknown): { quarantineReason?: string } {
  const reason = headerText(header);
  return reason === undefined ? {} : { quarantineReason: reason };
}

function signerOf(keyHeader: unknown, spaceHeader: unknown): Pick<DeliveryMessage, 'signedBy'> {
  const key = headerText(keyHeader);
  if (key === undefined) return {};
  const space = headerText(spaceHeader);
  return { signedBy: space === undefined ? { key } : { key, space } };
}

function traceOf(header: unknown): { traceparent?: string } {
  if (header === undefined) return {};
  const traceparent = traceparentOf(header);
  return traceparent === undefined ? {} : { traceparent };
}
