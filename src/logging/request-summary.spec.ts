import { levelForResponse, levelForStatus, notedReason, noteReason, reasonOf } from './request-summary';

describe('request line levels', () => {
  it('is info for 2xx and 3xx, warn for 4xx, error for 5xx', () => {
    expect([200, 204, 304, 400, 401, 404, 413, 500, 502, 503].map((s) => levelForStatus(s))).toEqual([
      'info',
      'info',
      'info',
      'warn',
      'warn',
      'warn',
      'warn',
      'error',
      'error',
      'error',
    ]);
  });

  it('is warn for a 503 with Retry-After (expected trouble the sender retries), error without', () => {
    const answer = (statusCode: number, headers: string[]) => ({
      statusCode,
      hasHeader: (name: string) => headers.includes(name.toLowerCase()),
    });
    expect(levelForResponse(answer(503, ['retry-after']))).toBe('warn');
    expect(levelForResponse(answer(503, []))).toBe('error');
    expect(levelForResponse(answer(500, ['retry-after']))).toBe('error');
  });
});

describe('refusal reasons', () => {
  it('reads the message of a JSON error answer', () => {
    expect(reasonOf({ statusCode: 401, message: 'X-Comapi-Signature header is missing' })).toBe(
      'X-Comapi-Signature header is missing',
    );
    expect(reasonOf({ message: ['a', 'b'] })).toBe('a; b');
    expect(reasonOf({ accepted: 1 })).toBeUndefined();
    expect(reasonOf('text')).toBeUndefined();
  });

  it('keeps a reason noted on a response', () => {
    const res = {};
    expect(notedReason(res)).toBeUndefined();
    noteReason(res, 'this instance is shutting down');
    expect(notedReason(res)).toBe('this instance is shutting down');
  });
});
