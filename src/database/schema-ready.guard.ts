import { CanActivate, Injectable } from '@nestjs/common';
import { RetryLaterError } from '../common/retry-later.error';
import { DatabaseService } from './database.service';

/**
 * Lets a request that reads or writes the service's tables through only once the migrations have
 * put them in place (DatabaseService.ready); before that, 503 with Retry-After, not the raw
 * "relation does not exist" of a 500. Right after a start, or while a long migration runs.
 */
@Injectable()
export class SchemaReadyGuard implements CanActivate {
  constructor(private readonly database: DatabaseService) {}

  canActivate(): boolean {
    if (!this.database.isReady) {
      throw new RetryLaterError(
        'the database is not ready: not reached yet, or its migrations are being applied',
      );
    }
    return true;
  }
}
