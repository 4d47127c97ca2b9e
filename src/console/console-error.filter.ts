import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { RetryLaterError } from '../common/retry-later.error';
import { isTransientDatabaseError } from '../events/transient-error';
import { BrokerUnavailableError } from '../messaging/broker-unavailable.error';
import { SignInRequired, type ConsoleRequest } from './console-auth';
import { ConsoleViews } from './console-views';

/**
 * Every console failure as a page that names the problem: no session → sign-in (a form posted after
 * the session ended: 401 saying so), bad input → its 4xx, broker or database away → 503.
 */
@Catch()
@Injectable()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Console');

  constructor(private readonly views: ConsoleViews) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<ConsoleRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    if (err instanceof SignInRequired) {
      const to = `/console/login${err.ended ? '?ended=1' : ''}`;
      if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, to);
      return this.views.send(
        res,
        'login',
        { title: 'Sign in', error: 'Your session has ended: sign in again. Nothing was changed.' },
        null,
        401,
      );
    }
    const { status, message } = describe(err);
    if (status >= 500) this.logger.error({ msg: 'console request failed', path: req.path, err });
    this.views.send(
      res,
      'error',
      { title: titleOf(status), status, message },
      req.consoleSession ?? null,
      status,
    );
  }
}

function describe(err: unknown): { status: number; message: string } {
  if (err instanceof HttpException) {
    const body = err.getResponse();
    const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : body;
    return {
      status: err.getStatus(),
      message: Array.isArray(message) ? message.join('; ') : String(message),
    };
  }
  if (err instanceof RetryLaterError) {
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: `Not available: ${err.message}; try again shortly.`,
    };
  }
  if (err instanceof BrokerUnavailableError) {
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: `The message broker is not reachable: ${err.message}`,
    };
  }
  if (isTransientDatabaseError(err)) {
    return {
      status: HttpStatus.SERVICE_UNAVAILABLE,
      message: 'PostgreSQL is not reachable now; try again shortly.',
    };
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    message: 'Something went wrong; the log has the details.',
  };
}

function titleOf(status: number): string {
  const titles: Record<number, string> = {
    400: 'Not a valid request',
    403: 'Not allowed',
    404: 'Not found',
    409: 'Already done',
    429: 'Too many tries',
  };
  return titles[status] ?? (status >= 500 ? 'Not available' : 'Error');
}
