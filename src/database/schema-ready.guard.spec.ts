import { RetryLaterError } from '../common/retry-later.error';
import type { DatabaseService } from './database.service';
import { SCHEMA_WAIT_MS, SchemaReadyGuard } from './schema-ready.guard';

describe(SchemaReadyGuard.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function database(isReady: boolean) {
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    return { service: { isReady, ready } as unknown as DatabaseService, becomeReady: () => resolve() };
  }

  it('lets requests through once the schema is in place', async () => {
    await expect(new SchemaReadyGuard(database(true).service).canActivate()).resolves.toBe(true);
  });

  it('holds a request while the migrations finish', async () => {
    const db = database(false);
    const verdict = new SchemaReadyGuard(db.service).canActivate();
    jest.advanceTimersByTime(SCHEMA_WAIT_MS - 1);
    db.becomeReady();
    await expect(verdict).resolves.toBe(true);
  });

  it('refuses with a retry-later error when the database is not ready in time', async () => {
    const verdict = new SchemaReadyGuard(database(false).service).canActivate();
    jest.advanceTimersByTime(SCHEMA_WAIT_MS);
    await expect(verdict).rejects.toThrow(RetryLaterError);
    await expect(verdict).rejects.toThrow(/migrations/);
  });
});
