import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnauthorizedException,
  type RawBodyRequest,
} from '@nestjs/common';
import { Metrics } from '../metrics/metrics.service';
import type { SignedRequest } from './signed-by';
import { SpaceSecrets } from './space-secrets';
import { SIGNATURE_HEADER } from './signature.verifier';

/** What a 401 says: whether the header was missing, not a hex digest, or matched no secret. */
const REFUSALS = {
  missing: 'X-Comapi-Signature header is missing',
  not_hex:
    'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected): it is not 40 hex digits',
  no_match: 'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
} as const;

/**
 * Lets a request through only when X-Comapi-Signature matches its raw body (`request.rawBody`, set
 * before anything parses it) under one of the secrets in force (SpaceSecrets decides), and sets who
 * signed it on the request (`request.signer`, read with @SignedBy()).
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  constructor(
    private readonly secrets: SpaceSecrets,
    private readonly metrics: Metrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RawBodyRequest<SignedRequest>>();
    if (!request.rawBody) throw new Error('SignatureGuard needs the raw body (RawBodyMiddleware)');
    const verification = this.secrets.verify(request.rawBody, request.headers[SIGNATURE_HEADER]);
    if (verification.ok) {
      request.signer = { space: verification.space, key: verification.key };
      return true;
    }
    this.metrics.countDelivery('bad_signature');
    throw new UnauthorizedException(REFUSALS[verification.problem]);
  }
}
