import { createHash, randomUUID } from 'node:crypto';
import type { SimEnvelope } from './envelope.types';
import type { RandomSource } from './random.source';

/** What one message looks like across its events (the fields that stay the same). */
export interface MessageTraits {
  messageId: string;
  /** Names the message by the undocumented `payload.messageId` instead of the documented `payload.id`. */
  undocumentedId: boolean;
  channel: string;
  to: string;
  orderId: string;
}

export interface EnvelopeContext {
  accountId: number;
  apiSpaceId: string;
}

const CHANNELS = ['sms', 'rcs', 'whatsapp'];
const JOURNEYS = ['dispatch-notice', 'order-confirmation', 'appointment-reminder'];

export function messageTraits(random: RandomSource, messageIdShare: number): MessageTraits {
  return {
    messageId: randomUUID(),
    undocumentedId: random.chance(messageIdShare),
    channel: random.pick(CHANNELS),
    to: `4477009${String(random.int(0, 99999)).padStart(5, '0')}`,
    orderId: String(random.int(10000, 99999)),
  };
}

/** Dotdigital's etags look like `"3c-<27 base64 characters>"`: the revision, then a digest. */
function etagFor(eventId: string, revision: number | undefined): string {
  const digest = createHash('sha1').update(eventId).digest('base64').replace(/=+$/, '');
  return `"${revision ?? 0}c-${digest}"`;
}

/** The envelope's common fields; `etag: false` for the families Dotdigital sends without one. */
function base(
  context: EnvelopeContext,
  name: string,
  revision: number | undefined,
  at: Date,
  { etag = true }: { etag?: boolean } = {},
) {
  const eventId = randomUUID();
  return {
    eventId,
    accountId: context.accountId,
    apiSpaceId: context.apiSpaceId,
    name,
    ...(etag ? { etag: etagFor(eventId, revision) } : {}),
    timestamp: at.toISOString(),
  };
}

/** A `message.<status>` event shaped like test/fixtures/real/message.sent.sms.json (the id last, in `payload.id`). */
export function messageEvent(
  context: EnvelopeContext,
  message: MessageTraits,
  status: string,
  revision: number,
  at: Date,
): SimEnvelope {
  const idField = message.undocumentedId ? 'messageId' : 'id';
  const successful = status !== 'failed' && status !== 'expired';
  const additionalInfo: Record<string, unknown> = {
    to: message.to,
    successful,
    clientRef: `order-${message.orderId}`,
  };
  if (status === 'failed') additionalInfo.reason = 'Handset unreachable';
  return {
    ...base(context, `message.${status}`, revision, at),
    payload: {
      details: {
        channel: message.channel,
        additionalInfo,
        channelStatus: {
          [message.channel]: { status, details: { to: message.to }, updatedOn: at.toISOString() },
        },
      },
      metadata: { orderId: message.orderId, journey: JOURNEYS[Number(message.orderId) % JOURNEYS.length] },
      [idField]: message.messageId,
    },
    revision,
  };
}

/** An `interaction.click`: it names a message but carries no revision, so it is untracked. */
export function clickEvent(context: EnvelopeContext, message: MessageTraits, at: Date): SimEnvelope {
  return {
    ...base(context, 'interaction.click', undefined, at),
    payload: {
      id: message.messageId,
      url: `https://example.com/track/${message.orderId}`,
      clickedOn: at.toISOString(),
      metadata: { orderId: message.orderId },
    },
  };
}

/** A `profile.update`: the profile's id is an e-mail address (a text id, never a number). */
export function profileEvent(
  context: EnvelopeContext,
  email: string,
  revision: number,
  at: Date,
): SimEnvelope {
  return {
    ...base(context, 'profile.update', revision, at),
    payload: { id: email, email, name: `Simulated ${revision}` },
    revision,
  };
}
