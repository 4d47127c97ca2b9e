/** Network-level failures: the database is unreachable, not the data at fault. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** SQLSTATE classes and codes that pass with time: connection, resources, shutdown, contention. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-4]|40001|40P01|55P03|58)/;

const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is not established',
  'the database system is',
];

/**
 * Whether a database error will likely go away on its own (retry without limit, never dead-letter)
 * rather than be caused by the data (retry a bounded number of times, then dead-letter).
 */
export function isTransientDatabaseError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, driverError } = err as { code?: unknown; message?: unknown; driverError?: unknown };
  if (driverError && driverError !== err && isTransientDatabaseError(driverError)) return true;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATE.test(code))) return true;
  return typeof message === 'string' && TRANSIENT_MESSAGES.some((fragment) => message.includes(fragment));
}
