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
          // The delivery id is also on answers refused before the body was read whole (413).
          customProps: (req: IncomingMessage, res: ServerResponse) => {
            const delivery = (req as WebhookRequest).delivery;
            if (delivery) return { deliveryId: delivery.deliveryId, events: delivery.itemCount };
            const deliveryId = res.getHeader('X-Delivery-Id');
            return typeof deliveryId === 'string' ? { deliveryId } : {};
          },
          customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
            if (err || res.statusCode >= 500) return 'error';
            if (res.statusCode >= 400) return 'warn';
            return PROBES.test(req.url ?? '') ? 'debug' : 'info';
          },
          serializers: {
            // An allow-list of headers: nothing else a client sends can reach the logs. The signature
            // is only marked as present (a key that exists is censored by `redact` above, so it is
            // added only when the request carried one).
            req: (req: { method: string; url: string; headers: Record<string, unknown> }) => ({
              method: req.method,
              url: req.url,
              headers: {
                'content-type': req.headers['content-type'],
                'content-length': req.headers['content-length'],
                'user-agent': req.headers['user-agent'],
                ...(req.headers['x-comapi-signature'] === undefined
                  ? {}
                  : { 'x-comapi-signature': '[redacted]' }),
              },
            }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
