import { filterMatches, topicMatches } from './topic-pattern';

describe('topicMatches', () => {
  it.each([
    ['#', 'applied.message.read', true],
    ['applied.#', 'applied.message.read', true],
    ['applied.#', 'stale.message.read', false],
    ['*.message.#', 'stale.message.sent', true],
    ['*.message.#', 'applied.interaction.click', false],
    ['applied.message.*', 'applied.message.read', true],
    ['applied.message.*', 'applied.message', false],
    ['applied.message.#', 'applied.message', true],
    ['applied.*', 'applied.message.read', false],
    ['#.read', 'applied.message.read', true],
    ['#.read', 'applied.message.sent', false],
    ['applied.#.read', 'applied.read', true],
    ['applied.message.read', 'applied.message.read', true],
    ['applied.message.read', 'applied.message.readx', false],
    ['#.#', 'untracked.profile.update', true],
  ])('%s against %s is %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });

  it('stays fast with many # words', () => {
    const started = Date.now();
    expect(topicMatches('#.#.#.#.#.#.#.#.#.#.#.#.x', 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q')).toBe(false);
    expect(Date.now() - started).toBeLessThan(100);
  });
});

describe('filterMatches', () => {
  it('matches when any pattern does', () => {
    expect(filterMatches(['applied.message.#', 'stale.message.read'], 'stale.message.read')).toBe(true);
    expect(filterMatches(['applied.message.#'], 'stale.message.read')).toBe(false);
  });
});
