import { RetryLaterError } from '../common/retry-later.error';

/** The broker could not take a delivery durably: answered 503 with Retry-After (Dotdigital retries). */
export class BrokerUnavailableError extends RetryLaterError {
  override readonly name = 'BrokerUnavailableError';
}
