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
import { HttpConfig } from '../config/config.slices';
import { Metrics } from '../metrics/metrics.service';
import type { WebhookRequest } from './received-delivery';

/**
 * Reads the body of POST /webhook as raw bytes, whatever its Content-Type, before anything parses
 * it: the signature covers these exact bytes. Past BODY_LIMIT the answer is 413, before the
 * signature is looked at.
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  constructor(
    private readonly config: HttpConfig,
    private readonly metrics: Metrics,
  ) {}

  async use(req: WebhookRequest, res: Response, next: NextFunction): Promise<void> {
    const delivery = { deliveryId: randomUUID(), receivedAt: new Date() };
    res.setHeader('X-Delivery-Id', delivery.deliveryId);
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
    req.rawBody = body;
    req.delivery = delivery;
    next();
  }
}
