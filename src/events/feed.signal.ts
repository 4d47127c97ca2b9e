import { Injectable } from '@nestjs/common';

/**
 * Wakes the feed relay of this process as soon as a batch with new events committed, so the
 * feed's latency is not the relay's polling interval (which still covers other replicas' commits).
 */
@Injectable()
export class FeedSignal {
  private waiting: (() => void) | null = null;

  notify(): void {
    const wake = this.waiting;
    this.waiting = null;
    wake?.();
  }

  /** Resolves at the next notify() or after `ms`, whichever comes first. */
  wait(ms: number): Promise<void> {
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
