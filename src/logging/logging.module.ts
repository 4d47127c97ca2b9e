import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LogFn, Logger } from 'pino';
import { LogConfig } from '../config/config.slices';
import { levelForResponse, notedReason, requestSummary } from './request-summary';

/** Routes that machines or browsers poll: their successful answers are debug lines, not info. */
const QUIET = /^\/(health|metrics|favicon\.ico)(\/|\?|$)/;

/**
 * Nest's own start-up chatter (a line per module and per route, about 30 of them): debug, so that
 * at info a start is the few lines that matter, main.ts' "listening on port … (role …, version …)"
 * among them.
 */
const START_UP_CHATTER = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);
const INFO = 30;

/** pino-http's stand-in error for a 5xx answered without one: a stack trace that points at pino-http. */
const standIn = (res: ServerResponse, error: Error) =>
  !(res as { err?: unknown }).err && error.message === `failed with status code ${res.statusCode}`;

/**
 * Structured JSON logs (pino): one line per request with status and duration (POST /webhook adds its
 * delivery id, event count and the reason of a refusal, see webhook/request-log.middleware.ts).
 * Signatures, credentials and cookies are redacted; secrets are never logged at all.
 *
 * Levels: 4xx and a 503 with Retry-After (expected trouble, retried) are warnings, other 5xx errors.
 * A health probe answering 503 is a warning without a stack: the dependency's own lines (connection
 * lost, login refused) say why. Terminus' own logger is off (health.module.ts), so a failing probe
 * is this one line. Successful probes, scrapes and /favicon.ico are debug.
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
          hooks: {
            logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
              const context = (args[0] as { context?: unknown } | null)?.context;
              if (level === INFO && typeof context === 'string' && START_UP_CHATTER.has(context))
                return this.debug(...args);
              return method.apply(this, args);
            },
          },
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
            const level = levelForResponse(res);
            if (!QUIET.test(req.url ?? '')) return level;
            if (level === 'info') return 'debug';
            return level === 'error' && res.statusCode === 503 ? 'warn' : level;
          },
          customSuccessObject: (_req: IncomingMessage, res: ServerResponse, value: Record<string, unknown>) =>
            withReason(res, value),
          customErrorObject: (
            _req: IncomingMessage,
            res: ServerResponse,
            error: Error,
            value: Record<string, unknown>,
          ) => {
            if (!standIn(res, error)) return withReason(res, value);
            const { err: _standIn, ...rest } = value;
            return withReason(res, rest);
          },
          customErrorMessage: (_req: IncomingMessage, res: ServerResponse, error: Error) =>
            standIn(res, error) ? 'request completed' : 'request errored',
          serializers: { req: requestSummary },
        },
      }),
    }),
  ],
})
export class LoggingModule {}

function withReason(res: ServerResponse, value: Record<string, unknown>): Record<string, unknown> {
  const reason = notedReason(res);
  return reason === undefined ? value : { ...value, reason };
}
