import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { performance } from 'node:perf_hooks';
import { levelForResponse, notedReason, reasonOf } from '../logging/request-summary';
import type { WebhookRequest } from './received-delivery';

/**
 * The request line of POST /webhook, the hot path: the same fields as pino-http's lines on the other
 * routes (status, duration, delivery id, event count) from one log call, without pino-http's
 * per-request child logger and request context, which cost about a sixth of the route's CPU.
 *
 * A refusal's line carries `reason`, the message its JSON answer gave the client (a 401's "header is
 * missing" or "does not match", a 400's parse problem, a 503's broker state), read as the answer is
 * written. Levels as everywhere (logging/request-summary.ts): a 503 with Retry-After is a warning.
 */
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  use(req: WebhookRequest, res: Response, next: NextFunction): void {
    const started = performance.now();
    let reason: string | undefined;
    const json = res.json;
    res.json = function (this: Response, body: unknown) {
      if (this.statusCode >= 400) reason = reasonOf(body);
      return json.call(this, body);
    } as Response['json'];
    res.once('close', () => {
      const logger = PinoLogger.root;
      const level = res.writableFinished ? levelForResponse(res) : 'warn';
      if (!logger.isLevelEnabled(level)) return;
      const why = reason ?? notedReason(res);
      logger[level](
        {
          // The logger's own req/res serializers shape these, as on pino-http's lines.
          req,
          res,
          responseTime: Math.round(performance.now() - started),
          deliveryId: res.getHeader('X-Delivery-Id'),
          events: req.delivery?.itemCount,
          ...(why === undefined ? {} : { reason: why }),
        },
        res.writableFinished ? 'request completed' : 'request aborted',
      );
    });
    next();
  }
}
