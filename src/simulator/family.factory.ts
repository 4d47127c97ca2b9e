import { randomUUID } from 'node:crypto';
import type { EnvelopeContext } from './envelope.factory';
import type { SimEnvelope } from './envelope.types';

/*
 * The families beyond message.* and profile.*, shaped like Dotdigital's own examples
 * (test/fixtures/real/): which carry a revision and an etag differs by family, and presence.*
 * has no payload at all.
 */

const base = (context: EnvelopeContext, name: string, at: Date) => ({
  eventId: randomUUID(),
  accountId: context.accountId,
  apiSpaceId: context.apiSpaceId,
  name,
  timestamp: at.toISOString(),
});

const textParts = (data: string) => [{ data, size: data.length, type: 'text/plain' }];

/** `conversation.participantAdded`: the conversation in `payload.id`; no revision, no etag (untracked). */
export function conversationEvent(
  context: EnvelopeContext,
  conversationId: string,
  profileId: string,
  at: Date,
): SimEnvelope {
  return {
    ...base(context, 'conversation.participantAdded', at),
    payload: { profileId, role: 'member', id: conversationId },
  };
}

/**
 * `conversationMessage.sent`: the message in `payload.id`; `revision` (also `conversationEventId`)
 * counts the conversation's events, so it still grows per message. No etag.
 */
export function conversationMessageEvent(
  context: EnvelopeContext,
  conversationId: string,
  counter: number,
  at: Date,
): SimEnvelope {
  const sentOn = at.toISOString();
  return {
    ...base(context, 'conversationMessage.sent', at),
    payload: {
      metadata: {},
      context: {
        from: { id: 'simulated' },
        conversationId,
        sentBy: 'session:simulated',
        sentOn,
        scope: 'a2p',
        direction: 'inbound',
      },
      parts: textParts(`simulated message ${counter}`),
      id: randomUUID(),
      conversationEventId: counter,
    },
    revision: counter,
  };
}

/** `chat.create`: the chat in `payload.id`, revision 0 and a quoted etag. */
export function chatEvent(
  context: EnvelopeContext,
  chatId: string,
  profileId: string,
  at: Date,
): SimEnvelope {
  const event = base(context, 'chat.create', at);
  return {
    ...event,
    payload: {
      name: `Chat with ${profileId}`,
      teamId: 'Customer_Services',
      channelId: 'appMessaging',
      participants: [{ profileId, role: 'participant' }],
      context: { conversationId: `Customer_Services_${profileId}` },
      id: chatId,
    },
    revision: 0,
    etag: `"2b-${event.eventId.replace(/-/g, '').slice(0, 27)}"`,
  };
}

/** `chatMessage.sent`: the message in `payload.id`; `revision` counts the chat's messages. No etag. */
export function chatMessageEvent(
  context: EnvelopeContext,
  chatId: string,
  counter: number,
  at: Date,
): SimEnvelope {
  const sentOn = at.toISOString();
  return {
    ...base(context, 'chatMessage.sent', at),
    payload: {
      metadata: {},
      context: {
        from: { id: 'simulated' },
        chatId,
        teamId: 'Customer_Services',
        sentBy: 'session:simulated',
        sentOn,
        direction: 'inbound',
      },
      parts: [{ name: 'body', type: 'text/plain', data: `simulated chat message ${counter}` }],
      id: randomUUID(),
    },
    revision: counter,
  };
}

/** `presence.available`: no payload, the profile at the top level; no revision, no etag (untracked). */
export function presenceEvent(context: EnvelopeContext, profileId: string, at: Date): SimEnvelope {
  return { ...base(context, 'presence.available', at), profileId };
}

/** `facebook.optin`: the profile in `payload.profileId`; no revision, no etag (untracked). */
export function facebookEvent(context: EnvelopeContext, profileId: string, at: Date): SimEnvelope {
  const senderId = String(1_000_000_000_000_000 + Math.floor(at.getTime() % 1_000_000_000));
  return {
    ...base(context, 'facebook.optin', at),
    payload: {
      fbMessengerId: senderId,
      profileId,
      stateData: { profileId },
      rawData: { recipient: { id: '178143536105220' }, timestamp: at.getTime(), sender: { id: senderId } },
      pageId: '123143536805220',
    },
  };
}
