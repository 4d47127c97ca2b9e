/**
 * Wakes a loop that waits for work with a timeout (a poll that also covers other replicas). A wake
 * that comes while the loop is busy is kept, so its next wait returns at once: work that arrived
 * while it was looking elsewhere never waits for a whole poll.
 */
export class WakeSignal {
  private waiting: (() => void) | null = null;
  private woken = false;

  notify(): void {
    const wake = this.waiting;
    this.waiting = null;
    if (wake) wake();
    else this.woken = true;
  }

  /** Resolves at the next notify() (or at once after one since the last wait), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve();
      }, ms);
      this.waiting = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
