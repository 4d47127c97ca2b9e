import {
  CanActivate,
  ExecutionContext,
  Injectable,
  UnauthorizedException,
  type RawBodyRequest,
} from '@nestjs/common';
import type { Request } from 'express';
import { SignatureConfig } from '../config/config.slices';
import { Metrics } from '../metrics/metrics.service';
import { SIGNATURE_HEADER, SignatureVerifier } from './signature.verifier';

/**
 * Lets a request through only when X-Comapi-Signature matches its raw body (`request.rawBody`, set
 * before anything parses it) under one of the configured secrets.
 */
@Injectable()
export class SignatureGuard implements CanActivate {
  private readonly verifier: SignatureVerifier;

  constructor(
    config: SignatureConfig,
    private readonly metrics: Metrics,
  ) {
    this.verifier = new SignatureVerifier(config.secrets);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RawBodyRequest<Request>>();
    if (!request.rawBody) throw new Error('SignatureGuard needs the raw body (RawBodyMiddleware)');
    if (this.verifier.verify(request.rawBody, request.headers[SIGNATURE_HEADER])) return true;
    this.metrics.countDelivery('bad_signature');
    throw new UnauthorizedException(
      request.headers[SIGNATURE_HEADER] === undefined
        ? 'X-Comapi-Signature header is missing'
        : 'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
    );
  }
}
