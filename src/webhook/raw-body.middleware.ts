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
import { InjectConfig } from '../config/config.module';
import type { Env } from '../config/env.schema';
import { Metrics } from '../metrics/metrics.service';
import type { WebhookRequest } from './incoming-delivery';

/**
 * Reads the body of POST /webhook as raw bytes, whatever its Content-Type, before anything parses
 * it: the signature covers these exact bytes. Past BODY_LIMIT the answer is 413, before the
 * signature is looked at (DESIGN §3).
 */
@Injectable()
export class RawBodyMiddleware implements NestMiddleware {
  constructor(
    @InjectConfig() private readonly config: Env,
    private readonly metrics: Metrics,
  ) {}

  async use(req: WebhookRequest, res: Response, next: NextFunction): Promise<void> {
    const receivedAt = new Date();
    const deliveryId = randomUUID();
    res.setHeader('X-Delivery-Id', deliveryId);
    let body: Buffer;
    try {
      body = await getRawBody(req, { limit: this.config.BODY_LIMIT, length: req.headers['content-length'] });
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === HttpStatus.PAYLOAD_TOO_LARGE) {
        this.metrics.countDelivery('too_large');
        throw new PayloadTooLargeException(
          `body is larger than BODY_LIMIT (${this.config.BODY_LIMIT} bytes)`,
        );
      }
      throw new HttpException(
        `could not read the request body: ${(err as Error).message}`,
        status && status >= 400 && status < 500 ? status : HttpStatus.BAD_REQUEST,
      );
    }
    req.rawBody = body;
    req.delivery = { deliveryId, receivedAt, body };
    next();
  }
}
