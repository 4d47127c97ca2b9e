import { CanActivate, Injectable } from '@nestjs/common';
import { RetryLaterError } from '../common/retry-later.error';
import { DatabaseService } from './database.service';

/** How long a request waits for the database to be ready before it is refused. */
export const SCHEMA_WAIT_MS = 5000;

/**
 * Lets a request that reads or writes the service's tables through only once the migrations have
 * put them in place (DatabaseService.ready). Right after a start the request waits for them, up to
 * SCHEMA_WAIT_MS; past that (the database unreachable, a long migration) it is answered 503 with
 * Retry-After, not a 500 naming a missing relation.
 */
@Injectable()
export class SchemaReadyGuard implements CanActivate {
  constructor(private readonly database: DatabaseService) {}

  async canActivate(): Promise<boolean> {
    if (this.database.isReady) return true;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      this.database.ready.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SCHEMA_WAIT_MS).unref())),
    ]);
    clearTimeout(timer);
    if (!ready) {
      throw new RetryLaterError(
        'the database is not ready: not reached yet, or its migrations are being applied',
      );
    }
    return true;
  }
}
