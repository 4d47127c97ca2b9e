const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Dotdigital's waits between attempts of a failed delivery (as Dotdigital documents it): 17 retries over about 24 h,
 * after which the delivery is dropped. 18 attempts in all.
 */
export const DOTDIGITAL_RETRY_DELAYS_MS: readonly number[] = [
  5 * SECOND,
  5 * SECOND,
  30 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  4 * HOUR,
  4 * HOUR,
  4 * HOUR,
  4 * HOUR,
  4 * HOUR,
];

/** What one attempt came back with. */
export type AttemptResult =
  | { kind: 'answer'; status: number; body: string; deliveryId?: string }
  | { kind: 'timeout' }
  | { kind: 'error'; message: string };

/**
 * What Dotdigital does next: 2xx is accepted; 400 is never retried (the data is gone); any other
 * status, a timeout or a connection error is retried on the schedule. Whether a 401 is retried is
 * not documented: `on401` chooses, `drop` (the worse case) by default.
 */
export type AttemptVerdict = 'acknowledged' | 'refused' | 'retry';

export function judgeAttempt(result: AttemptResult, on401: 'drop' | 'retry' = 'drop'): AttemptVerdict {
  if (result.kind !== 'answer') return 'retry';
  if (result.status >= 200 && result.status < 300) return 'acknowledged';
  if (result.status === 400 || (result.status === 401 && on401 === 'drop')) return 'refused';
  return 'retry';
}

/** A short label for counting answers: the status code, `timeout` or `connection error`. */
export function attemptLabel(result: AttemptResult): string {
  if (result.kind === 'answer') return String(result.status);
  return result.kind === 'timeout' ? 'timeout' : 'connection error';
}

/**
 * The wait before retry number `retry` (1-based), scaled by `timeScale`; null once the schedule is
 * exhausted (the delivery is dropped). Only waits are scaled, never the request timeout.
 */
export function retryDelayMs(
  retry: number,
  timeScale: number,
  schedule: readonly number[] = DOTDIGITAL_RETRY_DELAYS_MS,
): number | null {
  if (retry < 1 || retry > schedule.length) return null;
  return schedule[retry - 1] * timeScale;
}
