import { createHmac } from 'node:crypto';
import type { PlannedDelivery } from './delivery.planner';

/** `X-Comapi-Signature`: lower-case hex HMAC-SHA1 of the exact body bytes (as Dotdigital documents it). */
export function signBody(body: Buffer, secret: string): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

/** The bytes Dotdigital would send: a batch is a JSON array even when it holds one envelope. */
export function deliveryBody(delivery: Pick<PlannedDelivery, 'batch' | 'events'>): Buffer {
  return Buffer.from(JSON.stringify(delivery.batch ? delivery.events : delivery.events[0]), 'utf8');
}
