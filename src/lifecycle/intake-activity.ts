import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long one look at the event loop lasts while the storage side waits. */
export const SLICE_MS = 20;
/** The intake is pressed when, the storage side waiting, it keeps the event loop this busy. */
export const PRESSED_UTILIZATION = 0.9;

/**
 * The POST /webhook requests this process is answering: counted by the intake's admission, read by
 * the storage side of role `all`, which gives way to them when they need the whole event loop
 * (DeliveryConsumer, CONSUMER_YIELD_MS). One JavaScript thread serves both sides; an answer has
 * Dotdigital's 10 s deadline, a stored row has none, and the queue holds what waits, durably.
 */
@Injectable()
export class IntakeActivity {
  private requests = 0;

  get inFlight(): number {
    return this.requests;
  }

  enter(): void {
    this.requests++;
  }

  leave(): void {
    this.requests--;
  }

  /**
   * Waits while the intake is pressed: requests in flight and, over each SLICE_MS of waiting, the
   * event loop at least PRESSED_UTILIZATION busy with them. Returns at once when no request is in
   * flight, after the first slice that leaves the loop room, after `maxMs` at most, or when `signal`
   * aborts. Returns the milliseconds waited.
   */
  async giveWay(maxMs: number, signal?: AbortSignal): Promise<number> {
    const started = performance.now();
    let waited = 0;
    while (this.requests > 0 && waited < maxMs && !signal?.aborted) {
      const before = performance.eventLoopUtilization();
      await sleep(Math.min(SLICE_MS, maxMs - waited), undefined, { signal }).catch(() => undefined);
      waited = performance.now() - started;
      if (performance.eventLoopUtilization(before).utilization < PRESSED_UTILIZATION) break;
    }
    return waited;
  }
}
