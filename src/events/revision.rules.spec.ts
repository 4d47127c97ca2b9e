import type { EntityKey } from '../envelope/envelope';
import { RevisionGuard, decideOutcomes, entityKeyText, type OrderedEvent } from './revision.rules';

const message = (entityId: string, apiSpaceId = 'space-1'): EntityKey => ({
  apiSpaceId,
  entityType: 'message',
  entityId,
});

const tracked = (eventId: string, key: EntityKey, revision: number | bigint): OrderedEvent => ({
  eventId,
  tracked: { key, revision: BigInt(revision) },
});

const untracked = (eventId: string): OrderedEvent => ({ eventId, tracked: null });

describe('decideOutcomes', () => {
  it('applies the first event of an entity nothing is stored for', () => {
    const event = tracked('e1', message('m1'), 1);
    const { outcomes, winners } = decideOutcomes([event], new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ e1: 'applied' });
    expect([...winners.entries()]).toEqual([[entityKeyText(message('m1')), event]]);
  });

  it('marks events without an entity or a revision untracked and makes them no winner', () => {
    const { outcomes, winners } = decideOutcomes([untracked('u1'), untracked('u2')], new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ u1: 'untracked', u2: 'untracked' });
    expect(winners.size).toBe(0);
  });

  it('decides a batch in arrival order: an out-of-order lower revision after a higher one is stale', () => {
    const events = [
      tracked('read', message('m1'), 3),
      tracked('sent', message('m1'), 1),
      tracked('delivered', message('m1'), 2),
    ];
    const { outcomes, winners } = decideOutcomes(events, new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ read: 'applied', sent: 'stale', delivered: 'stale' });
    expect(winners.get(entityKeyText(message('m1')))?.eventId).toBe('read');
  });

  it('applies every step of an in-order sequence and makes the last one the winner', () => {
    const events = [
      tracked('sent', message('m1'), 1),
      tracked('delivered', message('m1'), 2),
      tracked('read', message('m1'), 3),
    ];
    const { outcomes, winners } = decideOutcomes(events, new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ sent: 'applied', delivered: 'applied', read: 'applied' });
    expect(winners.size).toBe(1);
    expect(winners.get(entityKeyText(message('m1')))?.eventId).toBe('read');
  });

  it('keeps the first of two events with the same revision', () => {
    const first = tracked('first', message('m1'), 2);
    const second = tracked('second', message('m1'), 2);
    const { outcomes, winners } = decideOutcomes([first, second], new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ first: 'applied', second: 'stale' });
    expect(winners.get(entityKeyText(message('m1')))).toBe(first);
  });

  it('respects stored revisions: not higher is stale, strictly higher is applied', () => {
    const stored = new Map([[entityKeyText(message('m1')), 5n]]);
    const { outcomes, winners } = decideOutcomes(
      [
        tracked('lower', message('m1'), 4),
        tracked('equal', message('m1'), 5),
        tracked('higher', message('m1'), 6),
      ],
      stored,
    );
    expect(Object.fromEntries(outcomes)).toEqual({ lower: 'stale', equal: 'stale', higher: 'applied' });
    expect(winners.get(entityKeyText(message('m1')))?.eventId).toBe('higher');
  });

  it('makes no winner for an entity whose batch events are all at or below the stored revision', () => {
    const stored = new Map([[entityKeyText(message('m1')), 3n]]);
    const { outcomes, winners } = decideOutcomes(
      [tracked('a', message('m1'), 3), tracked('b', message('m1'), 1)],
      stored,
    );
    expect(Object.fromEntries(outcomes)).toEqual({ a: 'stale', b: 'stale' });
    expect(winners.size).toBe(0);
  });

  it('does not change the stored revisions it is given', () => {
    const stored = new Map([[entityKeyText(message('m1')), 1n]]);
    decideOutcomes([tracked('a', message('m1'), 9)], stored);
    expect([...stored.entries()]).toEqual([[entityKeyText(message('m1')), 1n]]);
  });

  it('orders each entity on its own: api space, entity type and entity id all make the key', () => {
    const otherSpace = message('m1', 'space-2');
    const profile: EntityKey = { apiSpaceId: 'space-1', entityType: 'profile', entityId: 'm1' };
    const stored = new Map([[entityKeyText(message('m1')), 7n]]);
    const { outcomes, winners } = decideOutcomes(
      [
        tracked('same', message('m1'), 2),
        tracked('space', otherSpace, 2),
        tracked('type', profile, 2),
        tracked('id', message('m2'), 2),
        untracked('none'),
      ],
      stored,
    );
    expect(Object.fromEntries(outcomes)).toEqual({
      same: 'stale',
      space: 'applied',
      type: 'applied',
      id: 'applied',
      none: 'untracked',
    });
    expect(new Set(winners.keys())).toEqual(
      new Set([entityKeyText(otherSpace), entityKeyText(profile), entityKeyText(message('m2'))]),
    );
  });

  it('tells keys apart that a naive join would confuse', () => {
    const a: EntityKey = { apiSpaceId: 'a.b', entityType: 'c', entityId: 'd' };
    const b: EntityKey = { apiSpaceId: 'a', entityType: 'b.c', entityId: 'd' };
    expect(entityKeyText(a)).not.toBe(entityKeyText(b));
    const { outcomes } = decideOutcomes([tracked('x', a, 1), tracked('y', b, 1)], new Map());
    expect(Object.fromEntries(outcomes)).toEqual({ x: 'applied', y: 'applied' });
  });

  it('treats revision 0 as a real revision, higher than nothing and lower than 1', () => {
    const { outcomes } = decideOutcomes(
      [
        tracked('zero', message('m1'), 0),
        tracked('zero-again', message('m1'), 0),
        tracked('one', message('m1'), 1),
      ],
      new Map(),
    );
    expect(Object.fromEntries(outcomes)).toEqual({ zero: 'applied', 'zero-again': 'stale', one: 'applied' });
  });
});

describe(RevisionGuard.name, () => {
  it('orders revisions beyond 2^53 exactly', () => {
    const key = message('m-big');
    const stored = new Map([[entityKeyText(key), 9007199254740992n]]);
    const guard = new RevisionGuard(stored);
    expect(guard.outcomeOf(tracked('a', key, 9007199254740993n))).toBe('applied');
    expect(guard.outcomeOf(tracked('b', key, 9007199254740992n))).toBe('stale');
  });

  it('counts only accepted events: one the store failed to keep does not raise the entity', () => {
    const key = message('m1');
    const guard = new RevisionGuard(new Map());
    const failed = tracked('failed', key, 5);
    expect(guard.outcomeOf(failed)).toBe('applied');
    // not accepted: storing it failed
    const next = tracked('next', key, 3);
    expect(guard.outcomeOf(next)).toBe('applied');
    guard.accept(next, 'applied');
    expect(guard.outcomeOf(tracked('later', key, 2))).toBe('stale');
    expect([...guard.winners().values()].map((e) => e.eventId)).toEqual(['next']);
  });

  it('makes nothing the latest state from a stale or untracked acceptance', () => {
    const guard = new RevisionGuard(new Map([[entityKeyText(message('m1')), 4n]]));
    guard.accept(tracked('s', message('m1'), 2), 'stale');
    guard.accept(untracked('u'), 'untracked');
    expect(guard.winners().size).toBe(0);
  });
});
