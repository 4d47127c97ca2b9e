import { setTimeout as sleep } from 'node:timers/promises';
import type { PlannedDelivery } from './delivery.planner';
import { deliveryBody, signBody } from './delivery.signer';
import { ConcurrencyGate, RateLimiter } from './flow.control';
import { WebhookSender } from './http.sender';
import type { Ledger } from './ledger';
import { DOTDIGITAL_RETRY_DELAYS_MS, judgeAttempt, retryDelayMs } from './retry.schedule';
import type { ResolvedOptions } from './simulation.options';

export type DispatchOptions = Pick<
  ResolvedOptions,
  | 'url'
  | 'secret'
  | 'concurrency'
  | 'ratePerSecond'
  | 'requestTimeoutMs'
  | 'timeScale'
  | 'retryDelaysMs'
  | 'on401'
>;

export interface DispatchProgress {
  deliveries: number;
  settled: number;
  /** Deliveries waiting for their next retry. */
  waiting: number;
}

/**
 * Sends every planned delivery the way Dotdigital does: in plan order, at most `concurrency`
 * requests in flight (a delivery waiting for its next retry holds no slot), retrying failures on the
 * schedule and recording each attempt and final outcome in the ledger.
 */
export async function dispatchDeliveries(
  deliveries: readonly PlannedDelivery[],
  options: DispatchOptions,
  ledger: Ledger,
  onProgress?: (progress: DispatchProgress) => void,
): Promise<void> {
  const sender = new WebhookSender(options.url, options.concurrency);
  const gate = new ConcurrencyGate(options.concurrency);
  const limiter = new RateLimiter(options.ratePerSecond);
  const schedule = options.retryDelaysMs ?? DOTDIGITAL_RETRY_DELAYS_MS;
  const progress: DispatchProgress = { deliveries: deliveries.length, settled: 0, waiting: 0 };

  const deliver = async (delivery: PlannedDelivery): Promise<void> => {
    // Built at the first attempt (not for the whole plan at once) and kept: a retry sends the very
    // same bytes, as Dotdigital does.
    let signed: { body: Buffer; signature: string } | undefined;
    for (let retry = 0; ; retry += 1) {
      const result = await gate.run(async () => {
        await limiter.take();
        if (!signed) {
          const body = deliveryBody(delivery);
          signed = { body, signature: signBody(body, options.secret) };
        }
        return sender.post(signed.body, signed.signature, options.requestTimeoutMs);
      });
      ledger.recordAttempt(delivery.index, result);
      const verdict = judgeAttempt(result, options.on401);
      if (verdict === 'acknowledged') return ledger.acknowledge(delivery.index, result);
      if (verdict === 'refused') return ledger.settle(delivery.index, 'refused');
      const delay = retryDelayMs(retry + 1, options.timeScale, schedule);
      if (delay === null) return ledger.settle(delivery.index, 'dropped');
      ledger.recordRetry();
      progress.waiting += 1;
      onProgress?.({ ...progress });
      await sleep(delay);
      progress.waiting -= 1;
    }
  };

  try {
    await Promise.all(
      deliveries.map(async (delivery) => {
        await deliver(delivery);
        progress.settled += 1;
        onProgress?.({ ...progress });
      }),
    );
  } finally {
    sender.close();
  }
}
