import type { HeadersObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** Trouble that will pass: answered 503 with Retry-After, so Dotdigital delivers again later. */
export class RetryLaterError extends Error {
  override readonly name: string = 'RetryLaterError';
  readonly retryAfterSeconds = 5;
}

/** The header every 503 of a RetryLaterError carries (common/retry-later.filter.ts), for the OpenAPI document. */
export const RETRY_AFTER_HEADER: HeadersObject = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', example: 5 } },
};
