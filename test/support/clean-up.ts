/**
 * Runs every clean-up step even when one fails (a scratch database must be dropped even if closing
 * the app threw), then rethrows the first failure.
 */
export async function cleanUp(...steps: (() => unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0)
    throw failures[0] instanceof Error ? failures[0] : new Error(`clean-up failed: ${String(failures[0])}`);
}
