import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DatabaseReader,
  Ledger,
  RandomSource,
  attemptLabel,
  buildVerdict,
  checkStore,
  generateWorkload,
  judgeAttempt,
  planDeliveries,
  resolveOptions,
  type AttemptResult,
  type PlannedDelivery,
  type ResolvedOptions,
  type Verdict,
} from '../../src/simulator';
import { sendLikeDotdigital } from './sender';
import { FAULTS_SECRET, type Stack } from './stack';

/** One attempt as the sender saw it, stamped when its answer (or failure) came. */
export interface TimedAttempt {
  at: number;
  label: string;
  events: number;
  acknowledged: boolean;
}

/**
 * The simulator's ledger, with the time of every attempt: when the first 200 came after a fault,
 * how long 200s stopped, and which deliveries still wait for a retry. Nothing else changes.
 */
class TimedLedger extends Ledger {
  readonly timeline: TimedAttempt[] = [];
  /** Deliveries that failed an attempt and are not settled yet. */
  readonly unsettledFailures = new Set<number>();

  override recordAttempt(index: number, result: AttemptResult): void {
    super.recordAttempt(index, result);
    const verdict = judgeAttempt(result);
    this.timeline.push({
      at: Date.now(),
      label: attemptLabel(result),
      events: this.deliveries[index].eventIds.length,
      acknowledged: verdict === 'acknowledged',
    });
    if (verdict === 'retry') this.unsettledFailures.add(index);
    else this.unsettledFailures.delete(index);
  }
}

/** What a fault did: when it began and ended (end: everything it broke is back), and what it saw. */
export interface FaultWindow {
  start: number;
  end: number;
  notes: string[];
  /** Facts that make the trial fail whatever the ledger says (e.g. a SIGTERM exit that was not 0). */
  failures: string[];
}

export interface FaultSpec {
  name: string;
  /** What the fault does, for the report. */
  description: string;
  /** Runs the fault on the stack: breaks, holds, heals; resolves once everything is back. */
  run(stack: Stack, log: (line: string) => void): Promise<FaultWindow>;
  /** A rough length of the whole trial, for the time bound. */
  estimateMs: number;
}

export interface LoadOptions {
  /** Distinct events per second to offer (repeats come on top, about 10 %). */
  eventsPerSecond: number;
  /** Load before the fault starts, and after it ends. */
  beforeMs: number;
  afterMs: number;
  /** Dotdigital's retry schedule multiplied by this. */
  timeScale: number;
  concurrency: number;
  batchSize: number;
  seed?: number;
}

export interface TrialResult {
  fault: string;
  description: string;
  verdict: Verdict;
  balanced: boolean;
  failures: string[];
  notes: string[];
  window: FaultWindow;
  offeredPerSecond: number;
  acknowledgedPerSecond: number;
  /** Acknowledged events per second between the fault's start and end. */
  acknowledgedDuringFault: number;
  answers: Record<string, number>;
  /** From the fault's end to the first 200 answered after it (ms); null: none came. */
  toFirst200Ms: number | null;
  /** The longest stretch without a 200 answer, fault or not (ms). */
  longestGapMs: number;
  /**
   * From the fault's end until every delivery that failed was acknowledged on a retry and every
   * acknowledged event was stored and on the feed (ms); null: not reached.
   */
  toBalancedMs: number | null;
  deadLetters: number;
  quarantinedAdded: number;
  durationMs: number;
}

/** Average events per delivery of a plan: used to turn events/s into requests/s for the sender. */
function eventsPerDelivery(plan: readonly PlannedDelivery[]): number {
  const events = plan.reduce((sum, delivery) => sum + delivery.events.length, 0);
  return events / Math.max(1, plan.length);
}

/**
 * One fault under load: the simulator sends through nginx at a held rate, the fault runs after
 * `beforeMs`, the load goes on `afterMs` past its end; then the ledger is checked (database, feed,
 * HTTP destination, dead letters, quarantine) and the recovery measured.
 */
export async function runTrial(
  stack: Stack,
  fault: FaultSpec,
  load: LoadOptions,
  log: (line: string) => void,
): Promise<TrialResult> {
  const started = Date.now();
  // The sender's own health: a stalled event loop here would look like slow answers.
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  stack.feed.clear();
  stack.destination.clear();
  const [deadBefore, quarantinedBefore] = [await stack.deadLetters(), await stack.quarantined()];

  // Long enough that load continues well after the fault ends, whatever the fault's length.
  const estimatedFaultMs = Math.max(5000, fault.estimateMs - load.beforeMs - load.afterMs);
  const seconds = (load.beforeMs + estimatedFaultMs + load.afterMs) / 1000;
  const seed = load.seed ?? Math.floor(Math.random() * 0xffffffff);
  const probe: ResolvedOptions = resolveOptions({
    url: stack.nginx.url,
    secret: FAULTS_SECRET,
    events: Math.round(load.eventsPerSecond * seconds),
    batchSize: load.batchSize,
    concurrency: load.concurrency,
    timeScale: load.timeScale,
    seed,
    apiSpaces: ['faults-space-a', 'faults-space-b'],
  });
  const random = new RandomSource(seed);
  const startedAt = new Date();
  const plan = planDeliveries(generateWorkload(probe, random, startedAt), probe, random);
  const options = { ...probe, ratePerSecond: load.eventsPerSecond / eventsPerDelivery(plan) };
  const ledger = new TimedLedger(plan);
  log(
    `${fault.name}: ${options.events} events in ${plan.length} deliveries at ` +
      `${options.ratePerSecond.toFixed(0)} requests/s (seed ${seed})`,
  );

  const dispatchStart = Date.now();
  let dispatchEnd = 0;
  const dispatching = sendLikeDotdigital(plan, options, ledger).then(() => (dispatchEnd = Date.now()));

  let window: FaultWindow;
  const reader = await DatabaseReader.open(stack.databaseUrl);
  try {
    await sleep(load.beforeMs);
    try {
      window = await fault.run(stack, log);
    } catch (err) {
      // The fault itself could not be carried out (or healed): reported, and the ledger still judged.
      const now = Date.now();
      window = {
        start: now,
        end: now,
        notes: [],
        failures: [`fault step failed: ${(err as Error).message}`],
      };
      log(`${fault.name}: ${window.failures[0]}`);
    }
    log(`${fault.name}: fault over after ${((window.end - window.start) / 1000).toFixed(1)} s`);

    const marks = { retriesSettledMs: null as number | null };
    const toBalancedMs = await watchBalance(stack, ledger, reader, window.end, () => dispatchEnd > 0, marks);
    await dispatching;

    const timing = { settleTimeoutMs: 90000, pollIntervalMs: 500 };
    const expected = { events: ledger.acknowledgedEvents(), entities: ledger.expectedEntities() };
    const [database, feed, destination] = await Promise.all([
      checkStore(reader, expected, timing),
      stack.feed.judge(expected.events, ledger.allEvents(), timing),
      stack.destination.judge(expected.events.keys(), timing),
    ]);
    const verdict = buildVerdict({
      url: options.url,
      seed,
      startedAt,
      planned: plan,
      ledger,
      checks: { database, feed },
    });
    const deadLetters = (await stack.deadLetters()) - deadBefore;
    const quarantinedAdded = (await stack.quarantined()) - quarantinedBefore;
    const failures = [...verdict.failures, ...window.failures];
    if (deadLetters !== 0) failures.push(`${deadLetters} deliveries dead-lettered`);
    if (quarantinedAdded !== 0)
      failures.push(`${quarantinedAdded} quarantine rows for well-formed deliveries`);
    if (toBalancedMs === null) failures.push('the ledger did not balance while the trial was watched');
    if (destination.missing > 0)
      failures.push(`${destination.missing} acknowledged events never reached the HTTP destination`);
    if (destination.badSignatures > 0)
      failures.push(`${destination.badSignatures} destination requests with a bad signature`);

    const timeline = ledger.timeline;
    const span = Math.max(1, (dispatchEnd - dispatchStart) / 1000);
    const sum = (list: TimedAttempt[], acknowledgedOnly: boolean) =>
      list.reduce((total, a) => total + (acknowledgedOnly && !a.acknowledged ? 0 : a.events), 0);
    const duringFault = timeline.filter((a) => a.at >= window.start && a.at <= window.end);
    const faultSeconds = Math.max(0.001, (window.end - window.start) / 1000);
    const first200 = timeline.find((a) => a.acknowledged && a.at >= window.end);
    let longestGapMs = 0;
    let last = dispatchStart;
    for (const attempt of timeline.filter((a) => a.acknowledged)) {
      longestGapMs = Math.max(longestGapMs, attempt.at - last);
      last = attempt.at;
    }
    return {
      fault: fault.name,
      description: fault.description,
      verdict,
      balanced: failures.length === 0,
      failures,
      notes: [
        ...window.notes,
        ...(marks.retriesSettledMs === null
          ? []
          : [
              `every delivery that failed was acknowledged on a retry ${(marks.retriesSettledMs / 1000).toFixed(1)} s after the end (Dotdigital's schedule × ${load.timeScale})`,
            ]),
        ...verdict.notes,
        `HTTP destination: ${expected.events.size - destination.missing}/${expected.events.size} acknowledged events arrived, ${destination.badSignatures} bad signatures`,
        `the sender's event loop: delay p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`,
      ],
      window,
      offeredPerSecond: sum(timeline, false) / span,
      acknowledgedPerSecond: sum(timeline, true) / span,
      acknowledgedDuringFault: sum(duringFault, true) / faultSeconds,
      answers: ledger.answerCounts(),
      toFirst200Ms: first200 ? first200.at - window.end : null,
      longestGapMs,
      toBalancedMs,
      deadLetters,
      quarantinedAdded,
      durationMs: Date.now() - started,
    };
  } finally {
    lag.disable();
    await reader.close();
  }
}

/**
 * Polls from the fault's end until the ledger balances: no delivery waits for a retry (every one that
 * failed has been acknowledged since), and every event acknowledged up to that moment is stored and
 * has arrived on the feed and at the HTTP destination. Returns the time from `end` to when that was seen, or null when it was
 * not reached within the bound (or nothing more will be sent while failures are unsettled).
 */
async function watchBalance(
  stack: Stack,
  ledger: TimedLedger,
  reader: DatabaseReader,
  end: number,
  dispatchDone: () => boolean,
  marks: { retriesSettledMs: number | null },
  boundMs = 180000,
): Promise<number | null> {
  const stored = new Set<string>();
  let owed: string[] | null = null;
  while (Date.now() - end <= boundMs) {
    if (ledger.unsettledFailures.size > 0) {
      // A new failure after the snapshot: it has to settle too.
      owed = null;
      marks.retriesSettledMs = null;
      if (dispatchDone()) return null; // dropped or refused: the verdict says which
    } else {
      marks.retriesSettledMs ??= Date.now() - end;
      owed ??= [...ledger.acknowledgedEvents().keys()];
      try {
        const unseen = owed.filter((id) => !stored.has(id));
        for (const id of (await reader.readEvents(unseen)).keys()) stored.add(id);
        owed = owed.filter((id) => !stored.has(id) || !stack.feed.has(id) || !stack.destination.has(id));
        if (owed.length === 0 && ledger.unsettledFailures.size === 0) return Date.now() - end;
      } catch {
        // the database is still away: try again
      }
    }
    await sleep(250);
  }
  return null;
}
