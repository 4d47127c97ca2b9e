import { createParamDecorator, type ExecutionContext, type RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';

/**
 * What the api knows of one HTTP delivery besides its bytes (which travel as `request.rawBody`,
 * Nest's convention, so the signature guard needs nothing of this module).
 */
export interface ReceivedDelivery {
  readonly deliveryId: string;
  readonly receivedAt: Date;
  /** Set once the body is parsed; read by the request log. */
  itemCount?: number;
}

export type WebhookRequest = RawBodyRequest<Request> & { delivery?: ReceivedDelivery };

function requestOf(context: ExecutionContext): WebhookRequest {
  const request = context.switchToHttp().getRequest<WebhookRequest>();
  if (!request.delivery || !request.rawBody) throw new Error('RawBodyMiddleware did not run for this route');
  return request;
}

/** The delivery RawBodyMiddleware recorded. */
export const Received = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ReceivedDelivery => requestOf(context).delivery!,
);

/** The exact bytes of the body, as RawBodyMiddleware read them. */
export const RawBytes = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Buffer => requestOf(context).rawBody!,
);
