import { WakeSignal } from './wake-signal';

describe(WakeSignal.name, () => {
  it('wakes a waiting loop at once', async () => {
    const signal = new WakeSignal();
    const started = Date.now();
    const waited = signal.wait(10_000);
    signal.notify();
    await waited;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('keeps a wake that came while nobody waited, once', async () => {
    const signal = new WakeSignal();
    signal.notify();
    signal.notify();
    const started = Date.now();
    await signal.wait(10_000);
    expect(Date.now() - started).toBeLessThan(1000);
    await signal.wait(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('returns after the timeout without a wake', async () => {
    const signal = new WakeSignal();
    const started = Date.now();
    await signal.wait(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
