import type { Summary } from './stats';

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  rabbitmq: string;
  nginx?: string;
  loadAverageStart: string;
  loadAverageEnd?: string;
}

export interface Settings {
  mode: 'quick' | 'full';
  durationS: number;
  rounds: number;
  connections: number;
  e2eEvents: number;
  serviceMain: string;
  scenarios: string[];
  breakdownEvents: number;
  /** The consumer's settings in every scenario but (f), and those (f) tries. */
  consumer: { prefetch: number; batch: number };
  consumerSweep: { prefetch: number; batch: number }[];
  /** Connections of the overload runs (o1, o2). */
  overloadConnections: { single: number; batch: number };
  totalSeconds?: number;
}

export interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean | null;
}

/** One scenario's row group: a summary per deployment, the first one compared with the others. */
export interface Row {
  label: string;
  summaries: Summary[];
  /** Which metric the ratios compare (p99: lower is better). */
  ratioOf: 'reqPerSec' | 'eventsPerSec' | 'p99Ms';
  note?: string;
}

export const SCENARIO_TITLES: Record<string, string> = {
  a: '(a) single event, max rate',
  b: '(b) 100-event batches',
  c: '(c) 500-event batches',
  d: '(d) end-to-end, 100-event batches',
  e: '(e) batch-size sweep',
  e10: '(e) 10-event batches',
  f: '(f) consumer prefetch/batch sweep (end-to-end)',
  g: '(g) single event at half the max rate',
  h: '(h) storage breakdown',
  o1: '(o) overload: single events at 2× the max rate',
  o2: '(o) overload: 500-event batches, 64 connections',
  o3: '(o) burst: 500-event batches from 2,500 connections at once',
  s1: '(s) scale-out: end-to-end, api + workers',
  s2: '(s) scale-out: single-event ingest through nginx',
};

export const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || Number.isNaN(value)
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `a` over `b` on the row's metric; null when either is missing. */
export function ratioOf(row: Row, a: Summary | undefined, b: Summary | undefined): number | null {
  const x = a?.[row.ratioOf];
  const y = b?.[row.ratioOf];
  if (x === null || x === undefined || y === null || y === undefined || y === 0) return null;
  return x / y;
}

export const loadText = (s: Summary) =>
  s.load1[0] === s.load1[1] ? fmt(s.load1[0], 2) : `${fmt(s.load1[0], 2)}–${fmt(s.load1[1], 2)}`;

export function resultTable(rows: Row[], { compareTo = ['bare', 'reference'] } = {}): string[] {
  const out = [
    `| scenario | target | req/s | events/s | p50 ms | p99 ms | max ms | non-2xx | errors | peak RSS MiB | CPU ms/1k events | ${compareTo.map((c) => `÷ ${c}`).join(' | ')} | load (1 min) | notes |`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${compareTo.map(() => '---:|').join('')}---|---|`,
  ];
  for (const row of rows) {
    const references = compareTo.map((name) => row.summaries.find((s) => s.target === name));
    for (const [i, summary] of row.summaries.entries()) {
      const notes: string[] = [];
      if (i === 0 && row.note) notes.push(row.note);
      if (summary.e2eDetail !== undefined) {
        notes.push(
          `${summary.exactlyOnce ? 'exactly once: yes' : '**exactly once: NO**'} (${summary.e2eDetail})`,
        );
      }
      if (summary.feedEventsPerSec !== undefined)
        notes.push(`POST to message on a \`#\` queue: ${fmt(summary.feedEventsPerSec)} events/s`);
      if (summary.destinationEventsPerSec !== undefined)
        notes.push(`POST to the HTTP destination: ${fmt(summary.destinationEventsPerSec)} events/s`);
      if (summary.backlog !== undefined)
        notes.push(`${fmt(summary.backlog)} deliveries left in the queue at the end`);
      if (summary.outboxPeak !== undefined) notes.push(`outbox peak ${fmt(summary.outboxPeak)} events`);
      if (summary.non2xx > 0) {
        notes.push(
          `status ${Object.entries(summary.statusCodes)
            .map(([code, count]) => `${code}×${count}`)
            .join(', ')}`,
        );
      }
      const ratios = references.map((ref) =>
        ref && ref !== summary && !compareTo.includes(summary.target)
          ? fmt(ratioOf(row, summary, ref), 2)
          : '',
      );
      out.push(
        `| ${i === 0 ? row.label : ''} | ${summary.target} | ${fmt(summary.reqPerSec)} | ${fmt(summary.eventsPerSec)} | ` +
          `${fmt(summary.p50Ms, 1)} | ${fmt(summary.p99Ms, 1)} | ${fmt(summary.maxMs)} | ${summary.non2xx} | ${summary.errors} | ` +
          `${fmt(summary.peakRssMiB)} | ${fmt(summary.cpuMsPer1kEvents, 1)} | ${ratios.join(' | ')} | ${loadText(summary)} | ` +
          `${notes.join('; ')} |`,
      );
    }
  }
  return out;
}

export function markdown(parts: {
  machine: Machine;
  settings: Settings;
  checks: Check[];
  rows: Row[];
  sections: { title: string; lines: string[] }[];
  errors: string[];
}): string {
  const { machine, settings, checks, rows, sections, errors } = parts;
  const out: string[] = [];
  out.push('# Benchmark: the service against the bare floor and the like-for-like reference', '');
  out.push(
    `Run ${machine.date}, ${settings.mode} mode: ${settings.durationS} s per load run, ${settings.rounds} ` +
      `round(s) alternating the deployments (ABBA order), ${settings.connections} connections, ` +
      `${settings.e2eEvents} events per end-to-end run, scenarios ${settings.scenarios.join(',')}` +
      (settings.totalSeconds ? `; whole bench ${fmt(settings.totalSeconds)} s.` : '.'),
    '',
  );
  out.push('## Machine', '');
  out.push(
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${fmt(machine.memoryGiB, 1)} GiB; ${machine.os}`,
  );
  out.push(
    `- Node ${machine.node}; PostgreSQL ${machine.postgres}; RabbitMQ ${machine.rabbitmq}` +
      (machine.nginx ? `; ${machine.nginx}` : ''),
  );
  out.push(
    `- Load average (1/5/15 min) at start ${machine.loadAverageStart}` +
      (machine.loadAverageEnd ? `, at end ${machine.loadAverageEnd}` : '') +
      '; each row shows the 1-minute load average at the start of its rounds.',
  );
  out.push(
    '- The load generator (autocannon), PostgreSQL and RabbitMQ run on the same two cores as the servers.',
    '',
  );

  out.push('## Targets (ratios to the bare floor, same run)', '');
  out.push('| target | measured | limit | result |', '|---|---|---|---|');
  for (const check of checks) {
    out.push(
      `| ${check.name} | ${check.value} | ${check.limit} | ${check.pass === null ? 'not measured' : check.pass ? 'PASS' : '**FAIL**'} |`,
    );
  }
  out.push('');

  out.push(`## Results (median of the rounds; non-2xx and errors summed; RSS and max = highest)`, '');
  out.push(...resultTable(rows));
  out.push(
    '',
    '`÷ bare`, `÷ reference`: this row over that deployment, on req/s for (a), p99 for (g) (lower is better ' +
      'there) and events/s elsewhere. CPU is the server processes only (not PostgreSQL, RabbitMQ or nginx), ' +
      'CPU-ms per 1,000 events over the measured runs. Peak RSS is the highest of any one server process.',
    '',
  );
  for (const section of sections)
    if (section.lines.length) out.push(`## ${section.title}`, '', ...section.lines, '');
  if (errors.length) {
    out.push('## Errors during the run', '');
    for (const error of errors) out.push(`- ${error.replace(/\n/g, ' ')}`);
    out.push('');
  }
  return out.join('\n');
}
