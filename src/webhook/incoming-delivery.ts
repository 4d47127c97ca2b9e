import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';

/** What the api knows of one HTTP delivery before anything parses it. */
export interface IncomingDelivery {
  deliveryId: string;
  receivedAt: Date;
  body: Buffer;
  /** Set once the body is parsed; read by the request log. */
  itemCount?: number;
}

export type WebhookRequest = RawBodyRequest<Request> & { delivery?: IncomingDelivery };

export function incomingDeliveryOf(request: WebhookRequest): IncomingDelivery {
  if (!request.delivery) throw new Error('RawBodyMiddleware did not run for this route');
  return request.delivery;
}

/** The raw delivery read by RawBodyMiddleware. */
export const Incoming = createParamDecorator((_data: unknown, context: ExecutionContext) =>
  incomingDeliveryOf(context.switchToHttp().getRequest<WebhookRequest>()),
);
