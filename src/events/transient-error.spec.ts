import { isTransientDatabaseError } from './transient-error';

/** What pg raises for a server error: an Error with the SQLSTATE in `code`. */
const pgError = (code: string, message = `server error ${code}`) =>
  Object.assign(new Error(message), { code });

/** What TypeORM raises around it: QueryFailedError keeps the driver's error in `driverError`. */
const queryFailed = (driverError: unknown) =>
  Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError, query: 'INSERT …' });

describe('isTransientDatabaseError', () => {
  it.each([
    [
      'ECONNREFUSED',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['08006 connection failure', pgError('08006')],
    ['08001 cannot connect', pgError('08001')],
    ['57P01 admin shutdown', pgError('57P01', 'terminating connection due to administrator command')],
    ['57P03 cannot connect now', pgError('57P03', 'the database system is starting up')],
    ['53300 too many connections', pgError('53300', 'sorry, too many clients already')],
    ['40001 serialization failure', pgError('40001')],
    ['40P01 deadlock', pgError('40P01')],
    ['pg "Connection terminated unexpectedly"', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ])('calls %s transient', (_name, err) => {
    expect(isTransientDatabaseError(err)).toBe(true);
  });

  it.each([
    ['23505 unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['22P02 invalid text representation', pgError('22P02', 'invalid input syntax for type bigint')],
    ['22P05 untranslatable character', pgError('22P05', 'unsupported Unicode escape sequence')],
    ['22021 bad byte sequence', pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a plain Error', new Error('something broke')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('calls %s lasting', (_name, err) => {
    expect(isTransientDatabaseError(err)).toBe(false);
  });

  it.each([null, undefined, 'ECONNREFUSED', 42, { code: 123 }])('calls the non-error %p lasting', (value) => {
    expect(isTransientDatabaseError(value)).toBe(false);
  });

  it('reads the SQLSTATE of a TypeORM QueryFailedError from its driverError', () => {
    expect(isTransientDatabaseError(queryFailed(pgError('57P01')))).toBe(true);
    expect(isTransientDatabaseError(queryFailed(pgError('08006')))).toBe(true);
    expect(isTransientDatabaseError(queryFailed(pgError('23505')))).toBe(false);
    expect(isTransientDatabaseError(queryFailed(pgError('22P05')))).toBe(false);
  });

  it('reads a network failure wrapped in driverError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(isTransientDatabaseError(queryFailed(refused))).toBe(true);
  });

  it('does not loop on an error that names itself as its driverError', () => {
    const selfish: Error & { code: string; driverError?: unknown } = Object.assign(new Error('odd'), {
      code: '23505',
    });
    selfish.driverError = selfish;
    expect(isTransientDatabaseError(selfish)).toBe(false);
  });
});
