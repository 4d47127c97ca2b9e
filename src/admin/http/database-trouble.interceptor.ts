import { CallHandler, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, catchError, throwError } from 'rxjs';
import { RetryLaterError } from '../../common/retry-later.error';
import { isTransientDatabaseError } from '../../events/transient-error';

/**
 * PostgreSQL away, restarting or out of connections while an operations request runs: a
 * RetryLaterError (503 with Retry-After, common/retry-later.filter.ts) naming the cause, as the
 * console answers, instead of a bare 500. Any other error passes unchanged.
 */
@Injectable()
export class DatabaseTroubleInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(
        catchError((err: unknown) =>
          throwError(() =>
            isTransientDatabaseError(err)
              ? new RetryLaterError(
                  `PostgreSQL is not reachable now (${(err as Error).message}); try again shortly`,
                )
              : err,
          ),
        ),
      );
  }
}
