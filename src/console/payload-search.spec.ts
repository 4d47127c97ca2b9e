import { parsePayloadSearch, windowOf } from './payload-search';

describe('payload search', () => {
  it('reads path=value on the stored envelope', () => {
    expect(parsePayloadSearch('payload.metadata.orderId=10442')).toEqual({
      path: ['payload', 'metadata', 'orderId'],
      value: '10442',
    });
    expect(parsePayloadSearch(' apiSpaceId = a=b ')).toEqual({ path: ['apiSpaceId'], value: 'a=b' });
    expect(parsePayloadSearch('')).toBeNull();
  });

  it.each([['payload.metadata'], ['=10442'], ['payload..orderId=1'], ['payload.a b=1'], ['payload.x=']])(
    'refuses %p with a 400 naming search',
    (text) => {
      expect(() => parsePayloadSearch(text)).toThrow(expect.objectContaining({ status: 400 }) as Error);
    },
  );

  it('defaults the window to the last 7 days and refuses more than 31 or a reversed one', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(windowOf(undefined, undefined, now)).toEqual({
      since: new Date('2026-11-30T12:00:00Z'),
      until: now,
    });
    expect(windowOf('2026-12-01T00:00', undefined, now).since).toEqual(new Date('2026-12-01T00:00:00Z'));
    expect(() => windowOf('2026-10-01T00:00', undefined, now)).toThrow(/at most 31 days/);
    expect(() => windowOf('2026-12-07T13:00', '2026-12-07T12:00', now)).toThrow(/before until/);
    expect(() => windowOf('monday', undefined, now)).toThrow(/date and time/);
  });
});
