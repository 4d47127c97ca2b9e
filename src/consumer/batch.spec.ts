import { takeBatch } from './batch';

const limits = { deliveries: 3, events: 10 };

describe(takeBatch.name, () => {
  it('takes up to the delivery limit from the front, in order, leaving the rest', () => {
    const buffer = [1, 1, 1, 1, 1];
    expect(takeBatch(buffer, (n) => n, limits)).toEqual([1, 1, 1]);
    expect(buffer).toEqual([1, 1]);
  });

  it('stops before the event limit would be passed', () => {
    const buffer = [4, 4, 4];
    expect(takeBatch(buffer, (n) => n, limits)).toEqual([4, 4]);
    expect(buffer).toEqual([4]);
  });

  it('takes one delivery larger than the event limit alone, never none', () => {
    const buffer = [500, 1];
    expect(takeBatch(buffer, (n) => n, limits)).toEqual([500]);
    expect(takeBatch(buffer, (n) => n, limits)).toEqual([1]);
    expect(takeBatch(buffer, (n) => n, limits)).toEqual([]);
  });
});
