import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { performance } from 'node:perf_hooks';
import { levelForStatus } from '../logging/request-summary';
import type { WebhookRequest } from './received-delivery';

/**
 * The request line of POST /webhook, the hot path: the same fields as pino-http's lines on the other
 * routes (status, duration, delivery id, event count) from one log call, without pino-http's
 * per-request child logger and request context, which cost about a sixth of the route's CPU.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  use(req: WebhookRequest, res: Response, next: NextFunction): void {
    const started = performance.now();
    res.once('close', () => {
      const logger = PinoLogger.root;
      const level = res.writableFinished ? levelForStatus(res.statusCode) : 'warn';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          // The logger's own req/res serializers shape these, as on pino-http's lines.
          req,
          res,
          responseTime: Math.round(performance.now() - started),
          deliveryId: res.getHeader('X-Delivery-Id'),
          events: req.delivery?.itemCount,
        },
        res.writableFinished ? 'request completed' : 'request aborted',
      );
    });
    next();
  }
}
