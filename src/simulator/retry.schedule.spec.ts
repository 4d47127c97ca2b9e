import { DOTDIGITAL_RETRY_DELAYS_MS, attemptLabel, judgeAttempt, retryDelayMs } from './retry.schedule';

const answer = (status: number) => ({ kind: 'answer' as const, status, body: '' });

describe("Dotdigital's retry schedule", () => {
  it('is 5 s, 5 s, 30 s, 30 s, 1 m, 2 m, 5 m, 10 m, 15 m, 30 m, 1 h, 2 h, then 4 h five times', () => {
    const s = 1000;
    const m = 60 * s;
    const h = 60 * m;
    expect(DOTDIGITAL_RETRY_DELAYS_MS).toEqual([
      5 * s,
      5 * s,
      30 * s,
      30 * s,
      m,
      2 * m,
      5 * m,
      10 * m,
      15 * m,
      30 * m,
      h,
      2 * h,
      4 * h,
      4 * h,
      4 * h,
      4 * h,
      4 * h,
    ]);
    // "about 24 h" of waiting before the delivery is dropped.
    const total = DOTDIGITAL_RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0);
    expect(total / h).toBeCloseTo(24.07, 2);
  });

  it('gives the wait before each retry, then null: dropped after the 17th retry (18 attempts)', () => {
    expect(retryDelayMs(1, 1)).toBe(5000);
    expect(retryDelayMs(3, 1)).toBe(30_000);
    expect(retryDelayMs(17, 1)).toBe(4 * 3_600_000);
    expect(retryDelayMs(18, 1)).toBeNull();
    expect(retryDelayMs(0, 1)).toBeNull();
  });

  it('compresses the waits by the time scale', () => {
    expect(retryDelayMs(1, 0.01)).toBeCloseTo(50);
    expect(retryDelayMs(17, 0.01)).toBeCloseTo(144_000);
    expect(retryDelayMs(5, 0)).toBe(0);
    expect(retryDelayMs(2, 0.5, [100, 200])).toBe(100);
    expect(retryDelayMs(3, 0.5, [100, 200])).toBeNull();
  });
});

describe('judgeAttempt', () => {
  it.each([200, 201, 202, 204, 299])('%i is acknowledged', (status) => {
    expect(judgeAttempt(answer(status))).toBe('acknowledged');
  });

  it.each([400, 401])('%i is refused and never retried (401: the default, drop)', (status) => {
    expect(judgeAttempt(answer(status))).toBe('refused');
    expect(judgeAttempt(answer(status), 'drop')).toBe('refused');
  });

  it('retries a 401 when told Dotdigital retries it (--on-401 retry), never a 400', () => {
    expect(judgeAttempt(answer(401), 'retry')).toBe('retry');
    expect(judgeAttempt(answer(400), 'retry')).toBe('refused');
  });

  it.each([301, 403, 404, 408, 413, 429, 500, 502, 503, 504])('%i is retried', (status) => {
    expect(judgeAttempt(answer(status))).toBe('retry');
  });

  it('retries timeouts and connection errors', () => {
    expect(judgeAttempt({ kind: 'timeout' })).toBe('retry');
    expect(judgeAttempt({ kind: 'error', message: 'ECONNREFUSED' })).toBe('retry');
  });

  it('labels attempts by status, timeout or connection error', () => {
    expect(attemptLabel(answer(503))).toBe('503');
    expect(attemptLabel({ kind: 'timeout' })).toBe('timeout');
    expect(attemptLabel({ kind: 'error', message: 'ECONNRESET' })).toBe('connection error');
  });
});
