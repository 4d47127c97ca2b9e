/**
 * The tables of bench/results/latest.md, rendered from the data a run writes (bench/results/latest.json):
 * `npm run bench` renders them at the end of a run, `npm run bench:render` again from the JSON alone
 * (after a change to how they read).
 */
import { breakdownMarkdown, type BreakdownLine } from '../breakdown';
import {
  fmt,
  loadText,
  markdown,
  resultTable,
  SCENARIO_TITLES,
  type Check,
  type Machine,
  type Row,
  type Settings,
} from './report';
import { summarize, type RunRecord, type Summary } from './stats';

const KiB_PER_MiB = 1024;

/** What a run writes: every run's raw numbers and what it ran with; the tables are derived. */
export interface BenchResults {
  machine: Machine;
  settings: Settings;
  runs: RunRecord[];
  breakdown: BreakdownLine[];
  errors: string[];
  /** The service's highest RSS over its whole life, across scenarios (KiB). */
  serviceLifetimePeakKiB: number;
}

export function renderResults(results: BenchResults): string {
  const { machine, settings, runs, breakdown, errors } = results;
  const summaryOf = (scenario: string, target: string): Summary | undefined => {
    const mine = runs.filter((r) => r.scenario === scenario && r.target === target);
    return mine.length ? summarize(mine) : undefined;
  };
  const row = (
    scenario: string,
    label: string,
    ratio: Row['ratioOf'],
    targets: string[],
    note?: string,
  ): Row => ({
    label,
    ratioOf: ratio,
    note,
    summaries: targets.map((t) => summaryOf(scenario, t)).filter((s): s is Summary => s !== undefined),
  });
  const three = ['service', 'bare', 'reference'];
  const gRate = runs.find((r) => r.scenario === 'g')?.offeredRate;
  const rows = [
    row('a', SCENARIO_TITLES.a, 'reqPerSec', three),
    row(
      'g',
      SCENARIO_TITLES.g,
      'p99Ms',
      ['service', 'bare'],
      gRate ? `offered ${gRate} req/s to each` : undefined,
    ),
    row('e10', SCENARIO_TITLES.e10, 'eventsPerSec', three),
    row('b', SCENARIO_TITLES.b, 'eventsPerSec', three),
    row('c', SCENARIO_TITLES.c, 'eventsPerSec', three),
    row(
      'd',
      SCENARIO_TITLES.d,
      'eventsPerSec',
      [...three, 'service, feed off', 'bare, feed on', 'service, traced', 'service, destination'],
      `consumer prefetch ${settings.consumer.prefetch}, batch ${settings.consumer.batch}`,
    ),
    ...settings.consumerSweep.map((c) =>
      row(
        `f-${c.prefetch}-${c.batch}`,
        `(f) prefetch ${c.prefetch} / batch ${c.batch}`,
        'eventsPerSec',
        three,
      ),
    ),
  ].filter((r) => r.summaries.length > 0);

  const get = (scenario: string, target = 'service') => summaryOf(scenario, target);
  const over = (scenario: string, metric: 'reqPerSec' | 'eventsPerSec', a = 'service', b = 'bare') => {
    const x = get(scenario, a)?.[metric];
    const y = get(scenario, b)?.[metric];
    return x !== undefined && y !== undefined && y > 0 ? x / y : null;
  };
  const f2 = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));
  const at = (s: Summary | undefined) => (s ? ` (load ${loadText(s)})` : '');
  const a = get('a');
  const d = get('d');
  const g = get('g');
  const dOff = get('d', 'service, feed off');
  const bareOff = get('d', 'bare');
  const bareFeedOn = get('d', 'bare, feed on');
  const traced = get('d', 'service, traced');
  const destined = get('d', 'service, destination');
  const isService = (target: string) => !target.startsWith('bare') && target !== 'reference';
  const peaks = [
    ...new Set(runs.filter((r) => isService(r.target)).map((r) => `${r.scenario}\u0000${r.target}`)),
  ].map((k) => {
    const [scenario, target] = k.split('\u0000');
    return { scenario, target, summary: get(scenario, target)! };
  });
  const worst = peaks.reduce(
    (m, p) =>
      p.summary.peakRssMiB > m.peak ? { peak: p.summary.peakRssMiB, where: `${p.scenario}, ${p.target}` } : m,
    { peak: 0, where: '—' },
  );
  const servicePeak = Math.max(results.serviceLifetimePeakKiB / KiB_PER_MiB, worst.peak);
  const overload = ['o1', 'o2'].map((s) => get(s)).filter((s): s is Summary => s !== undefined);
  const overloadMax = (s: Summary) => (s.scenario === 'o1' ? a?.reqPerSec : get('c')?.reqPerSec);
  const refusalsOk = (s: Summary) =>
    Object.entries(s.statusCodes).every(([code]) => code.startsWith('2') || code === '503');
  const checks: Check[] = [
    {
      name: 'end-to-end events/s (POST to row), feed on, service ÷ the bare floor with the same feed; every event stored exactly once',
      value: d
        ? `${f2(over('d', 'eventsPerSec', 'service', 'bare, feed on'))}× (${fmt(d.eventsPerSec)} vs ${fmt(bareFeedOn?.eventsPerSec)})${at(d)}; exactly once: ${d.exactlyOnce ? 'yes' : 'NO'}`
        : '—',
      limit: '≥ 1.0×, yes',
      pass: d
        ? (over('d', 'eventsPerSec', 'service', 'bare, feed on') ?? 0) >= 1.0 && d.exactlyOnce === true
        : null,
    },
    {
      name: 'end-to-end events/s (POST to row), feed off, service ÷ the bare floor (no feed)',
      value: dOff
        ? `${f2(over('d', 'eventsPerSec', 'service, feed off', 'bare'))}× (${fmt(dOff.eventsPerSec)} vs ${fmt(bareOff?.eventsPerSec)})${at(dOff)}`
        : '—',
      limit: '≥ 0.85×',
      pass: dOff ? (over('d', 'eventsPerSec', 'service, feed off', 'bare') ?? 0) >= 0.85 : null,
    },
    {
      name: 'single-event ingest req/s, service ÷ bare, with storage keeping up (no delivery left queued at the end); non-2xx + errors',
      value: a
        ? `${f2(over('a', 'reqPerSec'))}× (${fmt(a.reqPerSec)} vs ${fmt(get('a', 'bare')?.reqPerSec)})${at(a)}; ` +
          `${fmt(a.backlog)} left queued; ${a.non2xx} non-2xx, ${a.errors} errors`
        : '—',
      limit: '≥ 0.55× with 0 left queued, zero',
      pass: a
        ? (over('a', 'reqPerSec') ?? 0) >= 0.55 && (a.backlog ?? 0) === 0 && a.non2xx === 0 && a.errors === 0
        : null,
    },
    {
      name: '100-event batch ingest events/s, service ÷ bare',
      value: get('b')
        ? `${f2(over('b', 'eventsPerSec'))}× (${fmt(get('b')!.eventsPerSec)} vs ${fmt(get('b', 'bare')?.eventsPerSec)})${at(get('b'))}`
        : '—',
      limit: '≥ 1.0×',
      pass: get('b') ? (over('b', 'eventsPerSec') ?? 0) >= 1.0 : null,
    },
    {
      name: 'peak RSS of any service process, every scenario',
      value: peaks.length ? `${fmt(servicePeak)} MiB (highest: ${worst.where})` : '—',
      limit: '≤ 256 MiB',
      pass: peaks.length ? servicePeak <= 256 : null,
    },
    {
      name: 'p99 of single-event POSTs at half the max rate (service)',
      value: typeof g?.p99Ms === 'number' ? `${g.p99Ms} ms at ${g.offeredRate} req/s${at(g)}` : '—',
      limit: '≤ 50 ms',
      pass: typeof g?.p99Ms === 'number' ? g.p99Ms <= 50 : null,
    },
    ...overload.map((s): Check => ({
      name: `${SCENARIO_TITLES[s.scenario]}: answers slower than 10 s, socket errors, refusals other than 503; accepted req/s ÷ max`,
      value:
        `${s.timeouts} slower than 10 s (slowest ${fmt(s.maxMs)} ms), ${s.errors - s.timeouts} socket errors, ` +
        `statuses ${Object.entries(s.statusCodes)
          .map(([code, n]) => `${code}×${n}`)
          .join(', ')}; accepted ${fmt(s.reqPerSec)} req/s = ${f2(s.reqPerSec / (overloadMax(s) ?? NaN))}× ` +
        `the max${at(s)}`,
      limit: 'zero, zero, only 503',
      pass: s.timeouts === 0 && s.errors === 0 && refusalsOk(s),
    })),
    {
      name: 'tracing on (every span exported to a sink on loopback) ÷ off, end-to-end POST to row',
      value:
        d && traced
          ? `${f2(traced.eventsPerSec / d.eventsPerSec)}× (${fmt(traced.eventsPerSec)} vs ${fmt(d.eventsPerSec)} events/s)${at(traced)}`
          : '—',
      limit: '≥ 0.9×',
      pass: d && traced ? traced.eventsPerSec / d.eventsPerSec >= 0.9 : null,
    },
    {
      name: 'one HTTP destination filtering `#` (a local endpoint answering at once) ÷ none, end-to-end POST to row; POST to the endpoint',
      value:
        d && destined
          ? `${f2(destined.eventsPerSec / d.eventsPerSec)}× (${fmt(destined.eventsPerSec)} vs ${fmt(d.eventsPerSec)} events/s); ` +
            `every event at the endpoint at ${fmt(destined.destinationEventsPerSec)} events/s${at(destined)}`
          : '—',
      limit: '≥ 0.8×; the endpoint gets every event',
      pass:
        d && destined
          ? destined.eventsPerSec / d.eventsPerSec >= 0.8 && destined.destinationEventsPerSec !== undefined
          : null,
    },
    {
      name: 'the relay keeps up: highest outbox backlog in (b) (10 s of full-rate ingest) and (d)',
      value:
        get('b')?.outboxPeak !== undefined || d?.outboxPeak !== undefined
          ? `${fmt(get('b')?.outboxPeak)} events in (b), ${fmt(d?.outboxPeak)} in (d)`
          : '—',
      limit: '≤ 10,000 events (a few transactions), not growing with the run',
      pass:
        get('b')?.outboxPeak !== undefined || d?.outboxPeak !== undefined
          ? Math.max(get('b')?.outboxPeak ?? 0, d?.outboxPeak ?? 0) <= 10000
          : null,
    },
  ];

  const sections: { title: string; lines: string[] }[] = [];
  sections.push({
    title: 'Memory: peak RSS of the service by scenario',
    lines: peaks.length
      ? [
          '| scenario | deployment | peak RSS MiB (any one process) | load (1 min) |',
          '|---|---|---:|---|',
          ...peaks.map(
            (p) =>
              `| ${SCENARIO_TITLES[p.scenario] ?? p.scenario} | ${p.target} | ${fmt(p.summary.peakRssMiB)} | ${loadText(p.summary)} |`,
          ),
        ]
      : [],
  });
  const oRows = ['o1', 'o2', 'o3']
    .map((s) =>
      row(
        s,
        SCENARIO_TITLES[s],
        'reqPerSec',
        ['service'],
        s === 'o1'
          ? `offered ${get(s)?.offeredRate ?? '—'} req/s, ${settings.overloadConnections.single} connections`
          : s === 'o2'
            ? `${settings.overloadConnections.batch} connections`
            : 'a memory check: answers over 10 s and refusals expected',
      ),
    )
    .filter((r) => r.summaries.length);
  sections.push({
    title: 'Overload (10 s timeout, as Dotdigital)',
    lines: oRows.length ? resultTable(oRows, { compareTo: [] }) : [],
  });
  const sRows = [
    row('s1', SCENARIO_TITLES.s1, 'eventsPerSec', ['api + 2 workers', 'api + 1 worker']),
    row('s2', SCENARIO_TITLES.s2, 'reqPerSec', ['nginx → 2 apis', 'nginx → 1 api']),
  ].filter((r) => r.summaries.length);
  sections.push({
    title: 'Scale-out (two processes ÷ one)',
    lines: sRows.length ? resultTable(sRows, { compareTo: ['api + 1 worker', 'nginx → 1 api'] }) : [],
  });
  if (breakdown.length) {
    sections.push({
      title: `Storage breakdown (${settings.rounds} round(s), ${settings.breakdownEvents} events per variant and round, medians)`,
      lines: breakdownMarkdown(breakdown),
    });
  }
  const sweep = [
    { batchSize: 1, scenario: 'a' },
    { batchSize: 10, scenario: 'e10' },
    { batchSize: 100, scenario: 'b' },
    { batchSize: 500, scenario: 'c' },
  ]
    .map(({ batchSize, scenario }) => ({
      batchSize,
      values: Object.fromEntries(three.map((t) => [t, get(scenario, t)?.eventsPerSec])),
    }))
    .filter((p) => Object.values(p.values).some((v) => v !== undefined));
  if (sweep.length) {
    sections.push({
      title: 'Batch-size sweep (ingest events/s)',
      lines: [
        '| batch size | service | bare | reference | service ÷ bare |',
        '|---:|---:|---:|---:|---:|',
        ...sweep.map(
          (p) =>
            `| ${p.batchSize} | ${fmt(p.values.service)} | ${fmt(p.values.bare)} | ${fmt(p.values.reference)} | ${fmt(p.values.service && p.values.bare ? p.values.service / p.values.bare : null, 2)} |`,
        ),
      ],
    });
  }

  return markdown({ machine, settings, checks, rows, sections, errors }) + '\n';
}
