import {
  HttpException,
  HttpStatus,
  Injectable,
  NestMiddleware,
  PayloadTooLargeException,
} from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import getRawBody from 'raw-body';
import { randomUUID } from 'node:crypto';
import { RetryLaterError } from '../common/retry-later.error';
import { HttpConfig } from '../config/config.slices';
import { Metrics } from '../metrics/metrics.service';
import { IntakeAdmission } from './intake-admission';
import type { WebhookRequest } from './received-delivery';

/**
 * Reads the body of POST /webhook as raw bytes, whatever its Content-Type, before anything parses
 * it: the signature covers these exact bytes. Past BODY_LIMIT the answer is 413, before the
 * signature is looked at. Before reading, the request is admitted (IntakeAdmission) or refused 503.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  constructor(
    private readonly config: HttpConfig,
    private readonly metrics: Metrics,
    private readonly admission: IntakeAdmission,
  ) {}

  async use(req: WebhookRequest, res: Response, next: NextFunction): Promise<void> {
    const delivery = { deliveryId: randomUUID(), receivedAt: new Date() };
    res.setHeader('X-Delivery-Id', delivery.deliveryId);
    // A declared length past BODY_LIMIT is refused 413 by the read below, not counted here.
    const declared = Math.min(Number(req.headers['content-length']) || 0, this.config.bodyLimit);
    const admitted = this.admission.admit(declared);
    if (typeof admitted === 'string') {
      this.metrics.countDelivery('overloaded');
      throw new RetryLaterError(admitted);
    }
    // 'close' comes once the answer is written or the client went away, whichever first.
    res.once('close', () => admitted.release());
    let body: Buffer;
    try {
      body = await getRawBody(req, { limit: this.config.bodyLimit, length: req.headers['content-length'] });
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === HttpStatus.PAYLOAD_TOO_LARGE) {
        this.metrics.countDelivery('too_large');
        throw new PayloadTooLargeException(`body is larger than BODY_LIMIT (${this.config.bodyLimit} bytes)`);
      }
      throw new HttpException(
        `could not read the request body: ${(err as Error).message}`,
        status && status >= 400 && status < 500 ? status : HttpStatus.BAD_REQUEST,
      );
    }
    if (body.length > declared) admitted.grow(body.length - declared);
    req.rawBody = body;
    req.delivery = delivery;
    next();
  }
}
