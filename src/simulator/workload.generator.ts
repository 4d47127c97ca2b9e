import { randomUUID } from 'node:crypto';
import {
  clickEvent,
  messageEvent,
  messageTraits,
  profileEvent,
  type MessageTraits,
} from './envelope.factory';
import type { SimEnvelope } from './envelope.types';
import type { RandomSource } from './random.source';
import type { ResolvedOptions } from './simulation.options';

export type WorkloadOptions = Pick<
  ResolvedOptions,
  'events' | 'apiSpaces' | 'accountId' | 'clickShare' | 'profileShare' | 'legacyIdShare'
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
 * (untracked), and profile.update chains whose entity id is an e-mail address.
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
  let messageEvents = total - clicks - profileEvents;
  const context = (apiSpaceId: string) => ({ accountId: options.accountId, apiSpaceId });
  const events: SimEnvelope[] = [];
  const messages: { traits: MessageTraits; apiSpaceId: string; sentAt: number }[] = [];

  while (messageEvents > 0) {
    const traits = messageTraits(random, options.legacyIdShare);
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
  return events;
}
