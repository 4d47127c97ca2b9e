import { PrefetchBound } from './prefetch-bound';

const MB = 1024 * 1024;

describe('PrefetchBound', () => {
  it('starts from an assumed delivery size, so a backlog of large deliveries cannot swamp the start', () => {
    expect(new PrefetchBound(100, 8 * MB).count).toBe(Math.floor((8 * MB) / PrefetchBound.ASSUMED_BYTES));
  });

  it('holds about the byte bound of 500-event deliveries, far fewer than the count bound', () => {
    const bound = new PrefetchBound(100, 8 * MB);
    for (let i = 0; i < 100; i++) bound.observe(350_000);
    expect(bound.count).toBeGreaterThanOrEqual(22);
    expect(bound.count).toBeLessThanOrEqual(24);
  });

  it('is the count bound for small deliveries, and never below 1 for huge ones', () => {
    const small = new PrefetchBound(100, 8 * MB);
    for (let i = 0; i < 100; i++) small.observe(800);
    expect(small.count).toBe(100);
    const huge = new PrefetchBound(100, 8 * MB);
    for (let i = 0; i < 100; i++) huge.observe(10 * MB);
    expect(huge.count).toBe(1);
  });

  it('is worth changing only when the count moves by half or more', () => {
    const bound = new PrefetchBound(100, 8 * MB);
    for (let i = 0; i < 100; i++) bound.observe(350_000);
    const count = bound.count;
    expect(bound.worthChanging(count)).toBe(false);
    expect(bound.worthChanging(count + 5)).toBe(false);
    expect(bound.worthChanging(100)).toBe(true);
    expect(bound.worthChanging(Math.floor(count / 2))).toBe(true);
  });
});
