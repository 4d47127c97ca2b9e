import { entityIdOf, trackedEntityOf } from './envelope.types';
import { RandomSource } from './random.source';
import { resolveOptions } from './simulation.options';
import { generateWorkload } from './workload.generator';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function workload(overrides: Record<string, unknown> = {}, seed = 42) {
  const options = resolveOptions({ secret: 's', events: 1000, ...overrides });
  return generateWorkload(options, new RandomSource(seed), new Date('2026-11-20T12:00:00.000Z'));
}

describe('generateWorkload', () => {
  it('generates exactly the number of distinct events asked for, with fixture-shaped envelopes', () => {
    const events = workload({ apiSpaces: ['space-1', 'space-2'], accountId: 7 });
    expect(events).toHaveLength(1000);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1000);
    for (const event of events) {
      expect(event.eventId).toMatch(UUID);
      expect(event.accountId).toBe(7);
      expect(['space-1', 'space-2']).toContain(event.apiSpaceId);
      expect(event.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      // Quoted where the family carries one (message, interaction, profile, chat); absent elsewhere.
      if (event.etag !== undefined) expect(event.etag).toMatch(/^"\d+[bc]-[A-Za-z0-9+/]{27}"$/);
      expect(entityIdOf(event)).not.toBeNull();
    }
  });

  it('gives messages the lifecycle sent rev 1, delivered rev 2, then read, failed or expired rev 3', () => {
    const byMessage = new Map<string, { name: string; revision?: number }[]>();
    for (const event of workload().filter((e) => e.name.startsWith('message.'))) {
      const id = entityIdOf(event)!;
      byMessage.set(id, [...(byMessage.get(id) ?? []), { name: event.name, revision: event.revision }]);
    }
    const lifecycles = [...byMessage.values()];
    expect(lifecycles.length).toBeGreaterThan(200);
    for (const lifecycle of lifecycles) {
      expect(lifecycle.slice(0, 2)).toEqual(
        [
          { name: 'message.sent', revision: 1 },
          { name: 'message.delivered', revision: 2 },
        ].slice(0, lifecycle.length),
      );
      if (lifecycle.length === 3) {
        expect(['message.read', 'message.failed', 'message.expired']).toContain(lifecycle[2].name);
        expect(lifecycle[2].revision).toBe(3);
      }
    }
    const endings = new Set(lifecycles.filter((l) => l.length === 3).map((l) => l[2].name));
    expect(endings).toEqual(new Set(['message.read', 'message.failed', 'message.expired']));
  });

  it('adds untracked clicks on generated messages and profile chains keyed by e-mail, in the shares asked', () => {
    const events = workload({ clickShare: 0.2, profileShare: 0.15 });
    const clicks = events.filter((e) => e.name === 'interaction.click');
    const profiles = events.filter((e) => e.name.startsWith('profile.'));
    expect(clicks).toHaveLength(200);
    expect(profiles).toHaveLength(150);

    const messageIds = new Set(events.filter((e) => e.name.startsWith('message.')).map((e) => entityIdOf(e)));
    for (const click of clicks) {
      expect(click).not.toHaveProperty('revision');
      expect(trackedEntityOf(click)).toBeNull();
      expect(messageIds.has(click.payload?.id as string)).toBe(true);
    }
    for (const profile of profiles) {
      expect(profile.payload?.id).toMatch(/^sim-[0-9a-f]{8}-\d+@example\.com$/);
      expect(trackedEntityOf(profile)?.key.entityType).toBe('profile');
    }
    // Every profile's revisions run 1..k without gaps.
    const revisions = new Map<string, number[]>();
    for (const p of profiles) {
      revisions.set(p.payload?.id as string, [
        ...(revisions.get(p.payload?.id as string) ?? []),
        p.revision!,
      ]);
    }
    for (const list of revisions.values()) expect(list).toEqual(list.map((_, i) => i + 1));
  });

  it('names messages by payload.id, as documented, and a share by the undocumented payload.messageId', () => {
    const messages = workload({ messageIdShare: 0.5 }).filter((e) => e.name === 'message.sent');
    const undocumented = messages.filter((e) => 'messageId' in e.payload! && !('id' in e.payload));
    expect(undocumented.length).toBeGreaterThan(messages.length * 0.3);
    expect(undocumented.length).toBeLessThan(messages.length * 0.7);
    const byDefault = workload().filter((e) => e.name === 'message.sent');
    expect(byDefault.filter((e) => 'id' in e.payload!).length).toBeGreaterThan(byDefault.length * 0.9);
  });

  it('sends the other families in their documented shapes, each with the entity the rule gives', () => {
    const events = workload({ familyShare: 0.16 });
    const family = events.filter((e) => !/^(message|interaction|profile)\./.test(e.name));
    expect(family).toHaveLength(160);
    const names = [...new Set(family.map((e) => e.name))].sort();
    expect(names).toEqual([
      'chat.create',
      'chatMessage.sent',
      'conversation.participantAdded',
      'conversationMessage.sent',
      'facebook.optin',
      'presence.available',
    ]);
    for (const event of family) {
      const tracked = trackedEntityOf(event);
      switch (event.name) {
        case 'presence.available':
          // No payload at all: the entity is the top-level profileId.
          expect(event).not.toHaveProperty('payload');
          expect(entityIdOf(event)).toBe(event.profileId);
          expect(tracked).toBeNull();
          break;
        case 'facebook.optin':
          expect(entityIdOf(event)).toBe(event.payload?.profileId);
          expect(tracked).toBeNull();
          break;
        case 'conversation.participantAdded':
          expect(entityIdOf(event)).toBe(event.payload?.id);
          expect(tracked).toBeNull();
          break;
        case 'chat.create':
          expect(event.etag).toMatch(/^".+"$/);
          expect(tracked).toEqual({
            key: expect.objectContaining({ entityType: 'chat', entityId: event.payload?.id }),
            revision: 0,
          });
          break;
        case 'conversationMessage.sent':
          expect(event.revision).toBe(event.payload?.conversationEventId);
          expect(tracked?.key.entityType).toBe('conversationMessage');
          break;
        case 'chatMessage.sent':
          expect(tracked?.key).toMatchObject({ entityType: 'chatMessage', entityId: event.payload?.id });
          break;
      }
      if (!['chat.create'].includes(event.name)) expect(event).not.toHaveProperty('etag');
    }
    // The message revisions count per conversation (and per chat): 1, 2 within each.
    const counters = new Map<string, number[]>();
    for (const e of family.filter((e) => e.name === 'conversationMessage.sent')) {
      const conversation = (e.payload?.context as { conversationId: string }).conversationId;
      counters.set(conversation, [...(counters.get(conversation) ?? []), e.revision!]);
    }
    for (const list of counters.values()) expect(list).toEqual([1, 2]);
  });

  it('refuses shares that add up to more than 1', () => {
    expect(() => workload({ clickShare: 0.5, profileShare: 0.3, familyShare: 0.3 })).toThrow(/familyShare/);
  });

  it('reproduces the shape from the seed but never the ids, so reruns cannot collide', () => {
    const shape = (events: ReturnType<typeof workload>) =>
      events.map((e) => [e.name, e.revision, e.apiSpaceId]);
    const [a, b, c] = [workload({}, 7), workload({}, 7), workload({}, 8)];
    expect(shape(a)).toEqual(shape(b));
    expect(shape(a)).not.toEqual(shape(c));
    const idsOfA = new Set(a.map((e) => e.eventId));
    expect(b.some((e) => idsOfA.has(e.eventId))).toBe(false);
    const entitiesOfA = new Set(a.map((e) => entityIdOf(e)));
    expect(b.some((e) => entitiesOfA.has(entityIdOf(e)))).toBe(false);
  });
});
