import { RetryLaterError } from '../common/retry-later.error';
import type { DatabaseService } from './database.service';
import { SchemaReadyGuard } from './schema-ready.guard';

describe(SchemaReadyGuard.name, () => {
  const guard = (isReady: boolean) => new SchemaReadyGuard({ isReady } as DatabaseService);

  it('refuses with a retry-later error until the migrations have run', () => {
    expect(() => guard(false).canActivate()).toThrow(RetryLaterError);
    expect(() => guard(false).canActivate()).toThrow(/migrations/);
  });

  it('lets requests through once the schema is in place', () => {
    expect(guard(true).canActivate()).toBe(true);
  });
});
