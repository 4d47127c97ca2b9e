/**
 * The simulator's programmatic API, for tests and fault harnesses that drive it in-process:
 * `runSimulation(options)` resolves with the same Verdict the CLI prints.
 */
export { runSimulation, SetupError, type SimulationHooks } from './simulation.runner';
export {
  resolveOptions,
  OptionsError,
  type SimulationOptions,
  type ResolvedOptions,
} from './simulation.options';
export { buildVerdict, type Verdict, type StoreCheckSummary, type FeedCheckSummary } from './verdict';
export { formatVerdict } from './verdict.format';
export { Ledger, type DeliveryRecord, type ExpectedEntity } from './ledger';
export {
  DOTDIGITAL_RETRY_DELAYS_MS,
  attemptLabel,
  judgeAttempt,
  retryDelayMs,
  type AttemptResult,
} from './retry.schedule';
export { generateWorkload } from './workload.generator';
export { planDeliveries, type PlannedDelivery } from './delivery.planner';
export { dispatchDeliveries, type DispatchProgress } from './delivery.dispatcher';
export { deliveryBody, signBody } from './delivery.signer';
export { RandomSource } from './random.source';
export { runCli } from './cli.command';
export type { SimEnvelope, EntityKey } from './envelope.types';
// The pieces the fault schedule (test/faults/) composes its own runs from.
export { WebhookSender } from './http.sender';
export { DatabaseReader } from './database.reader';
export { checkStore } from './store.check';
export {
  FeedWatcher,
  awaitFeedCopies,
  feedContentOf,
  judgeFeedCopies,
  type FeedCheckResult,
  type FeedCopy,
} from './feed.watcher';
