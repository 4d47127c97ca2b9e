import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Signer } from './space-scope';

/** A request the signature guard let through carries who signed it, as `request.user` carries a user. */
export type SignedRequest = Request & { signer?: Signer };

/** Who signed the body (set by SignatureGuard on the request). */
export const SignedBy = createParamDecorator((_data: unknown, context: ExecutionContext): Signer => {
  const signer = context.switchToHttp().getRequest<SignedRequest>().signer;
  if (!signer) throw new Error('SignatureGuard did not run for this route');
  return signer;
});
