/**
 * `work`, or a rejection `no answer within <ms> ms` once `ms` have passed (AbortSignal.timeout), for
 * calls that take no signal of their own (a passive queue check, a query). The work itself goes on;
 * only the wait for it ends.
 */
export function within<T>(work: Promise<T>, ms: number): Promise<T> {
  const signal = AbortSignal.timeout(ms);
  return new Promise<T>((resolve, reject) => {
    const onTimeout = () => reject(new Error(`no answer within ${ms} ms`));
    signal.addEventListener('abort', onTimeout, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onTimeout));
  });
}
