import { lastValueFrom, throwError } from 'rxjs';
import { RetryLaterError } from '../../common/retry-later.error';
import { DatabaseTroubleInterceptor } from './database-trouble.interceptor';

describe('DatabaseTroubleInterceptor', () => {
  const failing = (err: unknown) =>
    lastValueFrom(
      new DatabaseTroubleInterceptor().intercept(undefined, { handle: () => throwError(() => err) }),
    );

  it('turns a database that is away into a RetryLaterError naming the cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(failing(refused)).rejects.toThrow(RetryLaterError);
    await expect(failing(refused)).rejects.toThrow(/PostgreSQL is not reachable now \(connect ECONNREFUSED/);
    const shuttingDown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    await expect(failing(shuttingDown)).rejects.toThrow(RetryLaterError);
  });

  it('lets any other error through unchanged', async () => {
    const syntax = Object.assign(new Error('syntax error at or near "FROM"'), { code: '42601' });
    await expect(failing(syntax)).rejects.toBe(syntax);
  });
});
