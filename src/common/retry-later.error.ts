/** Trouble that will pass: answered 503 with Retry-After, so Dotdigital delivers again later. */
export class RetryLaterError extends Error {
  override readonly name: string = 'RetryLaterError';
  readonly retryAfterSeconds = 5;
}
