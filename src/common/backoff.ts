export interface Backoff {
  /** The first delay (attempt 0). */
  baseMs: number;
  /** No delay is longer. */
  maxMs: number;
  /** Each delay is spread by ± this fraction (0.2: 80 % to 120 %), so replicas do not retry in step. */
  jitter: number;
}

/** The delay before retry `attempt` (from 0): doubling from baseMs up to maxMs, spread by the jitter. */
export function backoffDelay(
  attempt: number,
  { baseMs, maxMs, jitter }: Backoff,
  random = Math.random,
): number {
  const exact = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return jitter === 0 ? exact : exact * (1 - jitter + random() * 2 * jitter);
}
