import { randomUUID } from 'node:crypto';
import {
  clickEvent,
  messageEvent,
  messageTraits,
  profileEvent,
  type MessageTraits,
} from './envelope.factory';
import type { SimEnvelope } from './envelope.types';
import {
  chatEvent,
  chatMessageEvent,
  conversationEvent,
  conversationMessageEvent,
  facebookEvent,
  presenceEvent,
} from './family.factory';
import type { RandomSource } from './random.source';
import type { ResolvedOptions } from './simulation.options';

export type WorkloadOptions = Pick<
  ResolvedOptions,
  'events' | 'apiSpaces' | 'accountId' | 'clickShare' | 'profileShare' | 'familyShare' | 'messageIdShare'
>;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** How a message's life ends after `delivered`: mostly read, some failed or expired. */
function finalStatus(random: RandomSource): string {
  const roll = random.next();
  if (roll < 0.8) return 'read';
  return roll < 0.9 ? 'failed' : 'expired';
}

/**
 * Generates exactly `options.events` distinct events, in the order they happened:
 * message lifecycles (sent rev 1 → delivered rev 2 → read, failed or expired rev 3; the last one may
 * be cut short, like a message still under way), interaction.click events without a revision
 * (untracked), profile.update chains whose entity id is an e-mail address, and the other families
 * of the contract (chat.*, chatMessage.*, conversation.*, conversationMessage.*, presence.*, facebook.*).
 * Entity ids are fresh per run, so a run's expected states never depend on an earlier run's.
 */
export function generateWorkload(
  options: WorkloadOptions,
  random: RandomSource,
  now = new Date(),
): SimEnvelope[] {
  const total = options.events;
  const clicks = Math.round(total * options.clickShare);
  const profileEvents = Math.min(Math.round(total * options.profileShare), total - clicks);
  const familyEvents = Math.min(Math.round(total * options.familyShare), total - clicks - profileEvents);
  let messageEvents = total - clicks - profileEvents - familyEvents;
  const context = (apiSpaceId: string) => ({ accountId: options.accountId, apiSpaceId });
  const events: SimEnvelope[] = [];
  const messages: { traits: MessageTraits; apiSpaceId: string; sentAt: number }[] = [];

  while (messageEvents > 0) {
    const traits = messageTraits(random, options.messageIdShare);
    const apiSpaceId = random.pick(options.apiSpaces);
    const sentAt = now.getTime() - random.int(60 * MINUTE, 180 * MINUTE);
    const steps: [string, number][] = [
      ['sent', sentAt],
      ['delivered', sentAt + random.int(2 * SECOND, 30 * SECOND)],
      [finalStatus(random), sentAt + random.int(MINUTE, 60 * MINUTE)],
    ];
    for (const [index, [status, at]] of steps.slice(0, messageEvents).entries())
      events.push(messageEvent(context(apiSpaceId), traits, status, index + 1, new Date(at)));
    messageEvents -= Math.min(3, messageEvents);
    messages.push({ traits, apiSpaceId, sentAt });
  }

  for (let i = 0; i < clicks; i += 1) {
    const message =
      messages.length > 0
        ? random.pick(messages)
        : {
            traits: messageTraits(random, 0),
            apiSpaceId: random.pick(options.apiSpaces),
            sentAt: now.getTime() - 60 * MINUTE,
          };
    const at = new Date(message.sentAt + random.int(MINUTE, 50 * MINUTE));
    events.push(clickEvent(context(message.apiSpaceId), message.traits, at));
  }

  const runTag = randomUUID().slice(0, 8);
  for (let left = profileEvents, profile = 1; left > 0; profile += 1) {
    const email = `sim-${runTag}-${profile}@example.com`;
    const apiSpaceId = random.pick(options.apiSpaces);
    const revisions = Math.min(random.int(1, 3), left);
    const firstAt = now.getTime() - random.int(10 * MINUTE, 120 * MINUTE);
    for (let revision = 1; revision <= revisions; revision += 1)
      events.push(profileEvent(context(apiSpaceId), email, revision, new Date(firstAt + revision * MINUTE)));
    left -= revisions;
  }

  events.push(...familyWorkload(familyEvents, options, random, runTag, now));
  return events;
}

/** One scene per profile, in this order; a run cut short ends part-way through one. */
const SCENE = [
  'chat',
  'chatMessage',
  'chatMessage',
  'conversation',
  'conversationMessage',
  'conversationMessage',
  'presence',
  'facebook',
] as const;

function familyWorkload(
  count: number,
  options: WorkloadOptions,
  random: RandomSource,
  runTag: string,
  now: Date,
): SimEnvelope[] {
  const events: SimEnvelope[] = [];
  let scene = { profile: '', chatId: '', conversationId: '', apiSpaceId: '', at: 0, counter: 0 };
  for (let i = 0; i < count; i += 1) {
    const step = SCENE[i % SCENE.length];
    if (i % SCENE.length === 0) {
      scene = {
        profile: `anon_sim-${runTag}-${i / SCENE.length + 1}`,
        chatId: randomUUID(),
        conversationId: randomUUID(),
        apiSpaceId: random.pick(options.apiSpaces),
        at: now.getTime() - random.int(10 * MINUTE, 120 * MINUTE),
        counter: 0,
      };
    }
    const context = { accountId: options.accountId, apiSpaceId: scene.apiSpaceId };
    const at = new Date(scene.at + i * SECOND);
    // The message counters are per chat and per conversation: they restart with each.
    if (step === 'chat' || step === 'conversation') scene.counter = 0;
    else if (step === 'chatMessage' || step === 'conversationMessage') scene.counter += 1;
    events.push(familyEvent(step, context, scene, at));
  }
  return events;
}

function familyEvent(
  step: (typeof SCENE)[number],
  context: { accountId: number; apiSpaceId: string },
  scene: { profile: string; chatId: string; conversationId: string; counter: number },
  at: Date,
): SimEnvelope {
  switch (step) {
    case 'chat':
      return chatEvent(context, scene.chatId, scene.profile, at);
    case 'chatMessage':
      return chatMessageEvent(context, scene.chatId, scene.counter, at);
    case 'conversation':
      return conversationEvent(context, scene.conversationId, scene.profile, at);
    case 'conversationMessage':
      return conversationMessageEvent(context, scene.conversationId, scene.counter, at);
    case 'presence':
      return presenceEvent(context, scene.profile, at);
    case 'facebook':
      return facebookEvent(context, scene.profile, at);
  }
}
