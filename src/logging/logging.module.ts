import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_CONFIG } from '../config/config.module';
import type { Env } from '../config/env.schema';
import type { WebhookRequest } from '../webhook/incoming-delivery';

const PROBES = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Structured JSON logs (pino): one line per request with status, duration, delivery id and event
 * count. Signatures, credentials and cookies are redacted; secrets are never logged at all.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: Env) => ({
        pinoHttp: {
          level: config.LOG_LEVEL,
          redact: {
            paths: [
              'req.headers["x-comapi-signature"]',
              'req.headers.authorization',
              'req.headers.cookie',
              'res.headers["set-cookie"]',
            ],
            censor: '[redacted]',
          },
          genReqId: (req: IncomingMessage, res: ServerResponse) =>
            (res.getHeader('X-Delivery-Id') as string | undefined) ??
            String(req.headers['x-request-id'] ?? ''),
          customProps: (req: IncomingMessage) => {
            const delivery = (req as WebhookRequest).delivery;
            return delivery ? { deliveryId: delivery.deliveryId, events: delivery.itemCount } : {};
          },
          customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
            if (err || res.statusCode >= 500) return 'error';
            if (res.statusCode >= 400) return 'warn';
            return PROBES.test(req.url ?? '') ? 'debug' : 'info';
          },
          serializers: {
            req: (req: { method: string; url: string; headers: Record<string, unknown> }) => ({
              method: req.method,
              url: req.url,
              headers: {
                'content-type': req.headers['content-type'],
                'content-length': req.headers['content-length'],
                'user-agent': req.headers['user-agent'],
                'x-comapi-signature':
                  req.headers['x-comapi-signature'] === undefined ? undefined : '[redacted]',
              },
            }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
