import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LogConfig } from '../config/config.slices';
import { levelForStatus, requestSummary } from './request-summary';

const PROBES = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Structured JSON logs (pino): one line per request with status and duration (POST /webhook adds its
 * delivery id and event count, see webhook/request-log.middleware.ts). Signatures, credentials and cookies
 * are redacted; secrets are never logged at all.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [LogConfig],
      useFactory: (config: LogConfig) => ({
        // POST /webhook writes its own request line (webhook/request-log.middleware.ts).
        exclude: [{ method: RequestMethod.POST, path: 'webhook' }],
        pinoHttp: {
          level: config.level,
          redact: {
            paths: [
              'req.headers["x-comapi-signature"]',
              'req.headers.authorization',
              'req.headers.cookie',
              'res.headers["set-cookie"]',
            ],
            censor: '[redacted]',
          },
          customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
            if (err) return 'error';
            const level = levelForStatus(res.statusCode);
            return level === 'info' && PROBES.test(req.url ?? '') ? 'debug' : level;
          },
          serializers: { req: requestSummary },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
