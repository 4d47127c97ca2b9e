import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { Observable, tap } from 'rxjs';
import { RetryLaterError } from '../../common/retry-later.error';
import type { AdminRequest } from './admin-key.guard';

/** One line per operations request: who (the key's fingerprint, never the key), what, how it ended, how long. */
@Injectable()
export class AdminRequestLog implements NestInterceptor {
  private readonly logger = new Logger('Admin');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const started = performance.now();
    const line = (status: number) => ({
      msg: 'admin request',
      key: request.adminKey,
      method: request.method,
      route: (request.route as { path?: string } | undefined)?.path,
      params: request.params,
      status,
      durationMs: Math.round(performance.now() - started),
    });
    return next.handle().pipe(
      tap({
        next: () => this.logger.log(line(context.switchToHttp().getResponse<Response>().statusCode)),
        error: (err: { getStatus?: () => number }) =>
          this.logger.warn(line(err instanceof RetryLaterError ? 503 : (err.getStatus?.() ?? 500))),
      }),
    );
  }
}
