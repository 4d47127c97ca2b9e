import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { IntakeActivity, SLICE_MS } from './intake-activity';

/** Keeps the event loop busy (5 ms spins, timers still fire between them) until the returned stop is called. */
function keepLoopBusy(): () => void {
  let busy = true;
  const spin = () => {
    if (!busy) return;
    const until = performance.now() + 5;
    while (performance.now() < until);
    setImmediate(spin);
  };
  setImmediate(spin);
  return () => (busy = false);
}

describe('IntakeActivity.giveWay', () => {
  it('does not wait when no request is in flight', async () => {
    const activity = new IntakeActivity();
    const stop = keepLoopBusy();
    try {
      expect(await activity.giveWay(1000)).toBe(0);
    } finally {
      stop();
    }
  });

  it('returns long before maxMs when requests are in flight but leave the event loop room', async () => {
    const activity = new IntakeActivity();
    activity.enter();
    const waited = await activity.giveWay(10_000);
    expect(waited).toBeGreaterThanOrEqual(SLICE_MS - 2);
    expect(waited).toBeLessThan(5000);
  });

  it('waits up to maxMs while requests in flight keep the event loop busy', async () => {
    const activity = new IntakeActivity();
    activity.enter();
    const stop = keepLoopBusy();
    try {
      expect(await activity.giveWay(200)).toBeGreaterThanOrEqual(198);
    } finally {
      stop();
    }
  });

  it('stops waiting once the last request is answered, or when the signal aborts', async () => {
    const activity = new IntakeActivity();
    activity.enter();
    const stop = keepLoopBusy();
    try {
      void sleep(100).then(() => activity.leave());
      expect(await activity.giveWay(10_000)).toBeLessThan(5000);
      expect(activity.inFlight).toBe(0);

      activity.enter();
      const abort = new AbortController();
      void sleep(100).then(() => abort.abort());
      expect(await activity.giveWay(10_000, abort.signal)).toBeLessThan(5000);
    } finally {
      stop();
    }
  });
});
