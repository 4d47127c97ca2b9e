import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { noteReason } from '../logging/request-summary';
import { RetryLaterError } from './retry-later.error';

/**
 * A RetryLaterError is answered 503 with Retry-After (the sender tries again later). It writes no
 * log line of its own: the request line says it, at warn, with this reason
 * (webhook/request-log.middleware.ts, logging.module.ts), so one refusal is one line.
 */
@Catch(RetryLaterError)
export class RetryLaterFilter implements ExceptionFilter {
  catch(error: RetryLaterError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    noteReason(response, error.message);
    response
      .status(HttpStatus.SERVICE_UNAVAILABLE)
      .setHeader('Retry-After', String(error.retryAfterSeconds))
      .json({
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: error.message,
      });
  }
}
