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
  totalSeconds?: number;
}

export interface Check {
  name: string;
  value: string;
  limit: string;
  pass: boolean | null;
}

export interface Row {
  label: string;
  service?: Summary;
  reference?: Summary;
  /** Which metric the ratio compares, and whether lower is better. */
  ratioOf: 'reqPerSec' | 'eventsPerSec' | 'p99Ms';
  note?: string;
}

export const SCENARIO_TITLES: Record<string, string> = {
  a: '(a) single event, max rate',
  b: '(b) 100-event batches',
  c: '(c) 500-event batches',
  d: '(d) end-to-end, 100-event batches',
  e: '(e) batch-size sweep',
  f: '(f) consumer prefetch/batch sweep (end-to-end)',
  g: '(g) single event at half the max rate',
};

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || Number.isNaN(value)
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function ratio(row: Row): number | null {
  const s = row.service?.[row.ratioOf];
  const r = row.reference?.[row.ratioOf];
  if (s === null || s === undefined || r === null || r === undefined || r === 0) return null;
  return s / r;
}

export function markdown(
  machine: Machine,
  settings: Settings,
  checks: Check[],
  rows: Row[],
  sweep: { batchSize: number; service?: number; reference?: number }[],
  consumerSweep: Row[],
  errors: string[],
): string {
  const out: string[] = [];
  out.push('# Benchmark: service vs bare reference', '');
  out.push(
    `Run ${machine.date}, ${settings.mode} mode: ${settings.durationS} s per load run, ${settings.rounds} ` +
      `round(s) alternating service/reference (ABBA order), ${settings.connections} connections, ` +
      `${settings.e2eEvents} events per end-to-end run` +
      (settings.totalSeconds ? `, whole bench ${fmt(settings.totalSeconds)} s.` : '.'),
    '',
  );
  out.push('## Machine', '');
  out.push(
    `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${fmt(machine.memoryGiB, 1)} GiB; ${machine.os}`,
  );
  out.push(`- Node ${machine.node}; PostgreSQL ${machine.postgres}; RabbitMQ ${machine.rabbitmq}`);
  out.push(
    `- Load average (1/5/15 min) at start ${machine.loadAverageStart}` +
      (machine.loadAverageEnd ? `, at end ${machine.loadAverageEnd}` : ''),
  );
  out.push(
    '- Load generator (autocannon), PostgreSQL and RabbitMQ run on the same machine as the servers.',
    '',
  );

  out.push('## Targets', '');
  out.push('| target | measured | limit | result |', '|---|---|---|---|');
  for (const check of checks)
    out.push(
      `| ${check.name} | ${check.value} | ${check.limit} | ${check.pass === null ? 'not measured' : check.pass ? 'PASS' : '**FAIL**'} |`,
    );
  out.push('');

  out.push(
    `## Results (median of ${settings.rounds} round(s); non-2xx and errors summed; RSS = highest)`,
    '',
  );
  out.push(...resultTable(rows));
  out.push('');

  if (sweep.length) {
    out.push('## Batch-size sweep (ingest events/s)', '');
    out.push('| batch size | service | reference | service/reference |', '|---:|---:|---:|---:|');
    for (const point of sweep) {
      const r = point.service && point.reference ? point.service / point.reference : null;
      out.push(`| ${point.batchSize} | ${fmt(point.service)} | ${fmt(point.reference)} | ${fmt(r, 2)} |`);
    }
    out.push('', '![events/s by batch size](../../docs/bench-batch-sweep.svg)', '');
  }

  if (consumerSweep.length) {
    out.push('## Consumer prefetch/batch sweep (end-to-end events/s)', '');
    out.push(...resultTable(consumerSweep));
    out.push('');
  }

  out.push(
    '`service/reference` compares req/s for (a), p99 for (g) (lower is better there) and events/s ' +
      'elsewhere. Server CPU is the server process only (not PostgreSQL or RabbitMQ), in CPU-ms per ' +
      '1,000 events over the measured runs.',
    '',
  );
  if (errors.length) {
    out.push('## Errors during the run', '');
    for (const error of errors) out.push(`- ${error.replace(/\n/g, ' ')}`);
    out.push('');
  }
  return out.join('\n');
}

function resultTable(rows: Row[]): string[] {
  const out = [
    '| scenario | target | req/s | events/s | p50 ms | p99 ms | non-2xx | errors | peak RSS MiB | CPU ms/1k events | service/reference | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const r = ratio(row);
    for (const summary of [row.service, row.reference]) {
      if (!summary) continue;
      const first = summary === row.service || !row.service;
      const note =
        summary.e2eDetail !== undefined
          ? `${summary.exactlyOnce ? 'exactly once: yes' : '**exactly once: NO**'} (${summary.e2eDetail})`
          : '';
      out.push(
        `| ${first ? row.label : ''} | ${summary.target} | ${fmt(summary.reqPerSec)} | ${fmt(summary.eventsPerSec)} | ` +
          `${fmt(summary.p50Ms, 1)} | ${fmt(summary.p99Ms, 1)} | ${summary.non2xx} | ${summary.errors} | ` +
          `${fmt(summary.peakRssMiB)} | ${fmt(summary.cpuMsPer1kEvents, 1)} | ${first ? fmt(r, 2) : ''} | ` +
          `${[first ? row.note : '', note].filter(Boolean).join('; ')} |`,
      );
    }
  }
  return out;
}

/** events/s against batch size, log-scaled x, both targets; hand-written SVG. */
export function sweepSvg(
  sweep: { batchSize: number; service?: number; reference?: number }[],
  caption: string,
): string {
  const width = 720;
  const height = 420;
  const m = { left: 80, right: 30, top: 56, bottom: 70 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const sizes = sweep.map((p) => p.batchSize);
  const maxX = Math.log10(Math.max(...sizes, 10));
  const values = sweep.flatMap((p) => [p.service ?? 0, p.reference ?? 0]);
  const yMax = niceCeil(Math.max(...values, 1) * 1.1);
  const x = (size: number) => m.left + (Math.log10(size) / maxX) * plotW;
  const y = (v: number) => m.top + plotH - (v / yMax) * plotH;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">Ingest events/s by batch size (POST /webhook)</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    const at = y(v).toFixed(1);
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${at}" y2="${at}" stroke="#ddd"/>`,
      `<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  for (const size of sizes) {
    const at = x(size).toFixed(1);
    parts.push(
      `<line x1="${at}" x2="${at}" y1="${m.top}" y2="${m.top + plotH}" stroke="#eee"/>`,
      `<text x="${at}" y="${m.top + plotH + 18}" text-anchor="middle">${size}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 28}" text-anchor="middle">events per delivery (log scale)</text>`,
    `<text transform="translate(18 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">events/s (median)</text>`,
  );
  const series: { key: 'service' | 'reference'; color: string; dy: number }[] = [
    { key: 'service', color: '#1f6fb4', dy: -10 },
    { key: 'reference', color: '#e07b10', dy: 18 },
  ];
  for (const { key, color, dy } of series) {
    const points = sweep.filter((p) => p[key] !== undefined).map((p) => ({ size: p.batchSize, v: p[key]! }));
    if (points.length === 0) continue;
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${points.map((p) => `${x(p.size).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of points)
      parts.push(
        `<circle cx="${x(p.size).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="4" fill="${color}"/>`,
        `<text x="${x(p.size).toFixed(1)}" y="${(y(p.v) + dy).toFixed(1)}" text-anchor="middle" fill="${color}">${Math.round(p.v).toLocaleString('en-US')}</text>`,
      );
  }
  const lx = m.left + 16;
  const ly = m.top + 10;
  parts.push(
    `<rect x="${lx - 8}" y="${ly - 12}" width="150" height="44" fill="white" stroke="#ccc"/>`,
    `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="#1f6fb4" stroke-width="2.5"/>`,
    `<text x="${lx + 32}" y="${ly + 4}">service (NestJS)</text>`,
    `<line x1="${lx}" x2="${lx + 24}" y1="${ly + 20}" y2="${ly + 20}" stroke="#e07b10" stroke-width="2.5"/>`,
    `<text x="${lx + 32}" y="${ly + 24}">bare reference</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

function niceCeil(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}
