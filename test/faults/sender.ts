import { setTimeout as sleep } from 'node:timers/promises';
import {
  DOTDIGITAL_RETRY_DELAYS_MS,
  WebhookSender,
  deliveryBody,
  judgeAttempt,
  retryDelayMs,
  signBody,
  type Ledger,
  type PlannedDelivery,
} from '../../src/simulator';

export interface SendOptions {
  url: string;
  secret: string;
  /** New deliveries per second. */
  ratePerSecond: number;
  /** Requests in flight at most, retries and new deliveries together: the sender's capacity. */
  concurrency: number;
  requestTimeoutMs: number;
  timeScale: number;
}

/** At most `limit` holders; a waiting retry is served before a waiting new delivery. */
class Slots {
  private active = 0;
  private readonly retries: (() => void)[] = [];
  private readonly fresh: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async take(retry: boolean): Promise<void> {
    if (this.active < this.limit) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolve) => (retry ? this.retries : this.fresh).push(resolve));
  }

  give(): void {
    const next = this.retries.shift() ?? this.fresh.shift();
    if (next) next();
    else this.active -= 1;
  }
}

/**
 * Sends a plan the way Dotdigital does, with the simulator's own pieces (signer, HTTP sender, retry
 * schedule, ledger): new deliveries at a held rate, each failure retried on Dotdigital's schedule
 * (× timeScale) from the moment it failed, and a bounded number of requests in flight. It differs
 * from the simulator's dispatcher in one way only: there, a retry waits behind every delivery of the
 * plan not yet started (one FIFO gate for the whole plan), so under a rate limit retries go out only
 * once the plan is exhausted; here a retry that is due goes out with the next free slot.
 */
export async function sendLikeDotdigital(
  plan: readonly PlannedDelivery[],
  options: SendOptions,
  ledger: Ledger,
): Promise<void> {
  const sender = new WebhookSender(options.url, options.concurrency);
  const slots = new Slots(options.concurrency);

  const deliver = async (delivery: PlannedDelivery): Promise<void> => {
    const body = deliveryBody(delivery);
    const signature = signBody(body, options.secret);
    for (let retry = 0; ; retry += 1) {
      await slots.take(retry > 0);
      let result;
      try {
        result = await sender.post(body, signature, options.requestTimeoutMs);
      } finally {
        slots.give();
      }
      ledger.recordAttempt(delivery.index, result);
      const verdict = judgeAttempt(result);
      if (verdict === 'acknowledged') return ledger.acknowledge(delivery.index, result);
      if (verdict === 'refused') return ledger.settle(delivery.index, 'refused');
      const delay = retryDelayMs(retry + 1, options.timeScale, DOTDIGITAL_RETRY_DELAYS_MS);
      if (delay === null) return ledger.settle(delivery.index, 'dropped');
      ledger.recordRetry();
      await sleep(delay);
    }
  };

  const started = Date.now();
  const running: Promise<void>[] = [];
  try {
    for (const [i, delivery] of plan.entries()) {
      const due = started + (i * 1000) / options.ratePerSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      running.push(deliver(delivery));
    }
    await Promise.all(running);
  } finally {
    sender.close();
  }
}
