/** A deployment's name: `service`, `bare`, `reference`, or a variant such as `service, feed off`. */
export type TargetName = string;

/** One measured run of one target. */
export interface RunRecord {
  scenario: string;
  target: TargetName;
  round: number;
  batchSize: number;
  durationS: number;
  requests: number;
  reqPerSec: number;
  eventsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  non2xx: number;
  errors: number;
  statusCodes?: Record<string, number>;
  /** Of `errors`, requests not answered within the load generator's timeout. */
  timeouts?: number;
  /** The slowest answer of the run (ms). */
  maxMs?: number;
  peakRssMiB: number;
  cpuSeconds: number;
  offeredRate?: number;
  /** 1-minute load average when the run started. */
  load1: number;
  /** Highest number of events waiting in feed_outbox, sampled every 100 ms (service with the feed on). */
  outboxPeak?: number;
  /** Load runs of a deployment that consumes: deliveries ready in its queue when the load ended (not yet stored). */
  backlog?: number;
  /** End-to-end: seconds from the first POST until every event was on the queue bound with `#`. */
  feedS?: number;
  /** (d) with an HTTP destination: seconds from the first POST until the endpoint had every event. */
  destinationS?: number;
  prefetch?: number;
  consumerBatch?: number;
  /** End-to-end runs: events sent, rows found, distinct ids, sent ids found, entity_revisions check. */
  e2e?: {
    sent: number;
    rows: number;
    distinct: number;
    sentFound: number;
    revisionsOk: boolean;
    exactlyOnce: boolean;
    ingestS: number;
    totalS: number;
    timedOut: boolean;
  };
}

/** The rounds of one scenario for one target, reduced: medians, sums of failures, max of memory. */
export interface Summary {
  scenario: string;
  target: TargetName;
  rounds: number;
  batchSize: number;
  reqPerSec: number;
  eventsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  non2xx: number;
  errors: number;
  peakRssMiB: number;
  cpuMsPer1kEvents: number;
  offeredRate?: number;
  prefetch?: number;
  consumerBatch?: number;
  exactlyOnce?: boolean;
  e2eDetail?: string;
  /** Lowest and highest 1-minute load average at the start of the rounds. */
  load1: [number, number];
  timeouts: number;
  maxMs: number | null;
  statusCodes: Record<string, number>;
  outboxPeak?: number;
  /** Deliveries left in the queue when the load ended (median). */
  backlog?: number;
  /** End-to-end: events/s from the first POST until every event was on the `#` queue (median). */
  feedEventsPerSec?: number;
  destinationEventsPerSec?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const medianOrNull = (values: (number | null)[]) => {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? median(present) : null;
};

export function summarize(runs: readonly RunRecord[]): Summary {
  const first = runs[0];
  const events = runs.reduce((sum, r) => sum + r.eventsPerSec * r.durationS, 0);
  const cpu = runs.reduce((sum, r) => sum + r.cpuSeconds, 0);
  const summary: Summary = {
    scenario: first.scenario,
    target: first.target,
    rounds: runs.length,
    batchSize: first.batchSize,
    reqPerSec: median(runs.map((r) => r.reqPerSec)),
    eventsPerSec: median(runs.map((r) => r.eventsPerSec)),
    p50Ms: medianOrNull(runs.map((r) => r.p50Ms)),
    p99Ms: medianOrNull(runs.map((r) => r.p99Ms)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)),
    cpuMsPer1kEvents: events > 0 ? (cpu * 1e6) / events : NaN,
    offeredRate: first.offeredRate,
    prefetch: first.prefetch,
    consumerBatch: first.consumerBatch,
    load1: [Math.min(...runs.map((r) => r.load1)), Math.max(...runs.map((r) => r.load1))],
    timeouts: runs.reduce((sum, r) => sum + (r.timeouts ?? 0), 0),
    maxMs: runs.some((r) => r.maxMs !== undefined) ? Math.max(...runs.map((r) => r.maxMs ?? 0)) : null,
    statusCodes: {},
  };
  for (const r of runs) {
    for (const [code, count] of Object.entries(r.statusCodes ?? {}))
      summary.statusCodes[code] = (summary.statusCodes[code] ?? 0) + count;
  }
  const outbox = runs.map((r) => r.outboxPeak).filter((v): v is number => v !== undefined);
  if (outbox.length) summary.outboxPeak = Math.max(...outbox);
  const backlog = runs.map((r) => r.backlog).filter((v): v is number => v !== undefined);
  if (backlog.length) summary.backlog = median(backlog);
  const feed = runs.filter((r) => r.feedS !== undefined && r.e2e);
  if (feed.length) summary.feedEventsPerSec = median(feed.map((r) => r.e2e!.sent / r.feedS!));
  const delivered = runs.filter((r) => r.destinationS !== undefined && r.e2e);
  if (delivered.length)
    summary.destinationEventsPerSec = median(delivered.map((r) => r.e2e!.sent / r.destinationS!));
  const e2e = runs.map((r) => r.e2e).filter((e) => e !== undefined);
  if (e2e.length) {
    summary.exactlyOnce = e2e.every((e) => e.exactlyOnce);
    const bad = e2e.filter((e) => !e.exactlyOnce);
    summary.e2eDetail = bad.length
      ? bad
          .map(
            (e) =>
              `sent ${e.sent}, rows ${e.rows}, distinct ${e.distinct}, sent ids found ${e.sentFound}` +
              `${e.revisionsOk ? '' : ', entity_revisions wrong'}${e.timedOut ? ', timed out' : ''}`,
          )
          .join('; ')
      : `${e2e[0].sent} sent, ${e2e[0].sent} stored once, entity_revisions right (every round)`;
  }
  return summary;
}
