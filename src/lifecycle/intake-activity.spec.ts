import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { IntakeActivity, SLICE_MS } from './intake-activity';

/** Runs `body` while the event loop is kept busy (5 ms spins; timers still fire between them). */
async function whileLoopBusy<T>(body: () => Promise<T>): Promise<T> {
  let busy = true;
  const spin = () => {
    if (!busy) return;
    const until = performance.now() + 5;
    while (performance.now() < until);
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return await body();
  } finally {
    busy = false;
  }
}

describe('IntakeActivity.giveWay', () => {
  it('does not wait when no request is in flight', async () => {
    const activity = new IntakeActivity();
    expect(await whileLoopBusy(() => activity.giveWay(1000))).toBe(0);
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
    expect(await whileLoopBusy(() => activity.giveWay(200))).toBeGreaterThanOrEqual(198);
  });

  it('stops waiting once the last request is answered, or when the signal aborts', async () => {
    const activity = new IntakeActivity();
    activity.enter();
    void sleep(100).then(() => activity.leave());
    expect(await whileLoopBusy(() => activity.giveWay(10_000))).toBeLessThan(5000);
    expect(activity.inFlight).toBe(0);

    activity.enter();
    const abort = new AbortController();
    void sleep(100).then(() => abort.abort());
    expect(await whileLoopBusy(() => activity.giveWay(10_000, abort.signal))).toBeLessThan(5000);
  });
});
