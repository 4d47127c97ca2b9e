import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RetryLaterError } from './retry-later.error';

@Catch(RetryLaterError)
export class RetryLaterFilter implements ExceptionFilter {
  private readonly logger = new Logger('Webhook');

  catch(error: RetryLaterError, host: ArgumentsHost): void {
    this.logger.warn(`answered 503: ${error.message}`);
    host
      .switchToHttp()
      .getResponse<Response>()
      .status(HttpStatus.SERVICE_UNAVAILABLE)
      .setHeader('Retry-After', String(error.retryAfterSeconds))
      .json({
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: error.message,
      });
  }
}
