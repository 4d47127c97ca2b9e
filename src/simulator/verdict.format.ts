import type { FeedCheckSummary, StoreCheckSummary, Verdict } from './verdict';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function storeLine(s: StoreCheckSummary): string {
  return (
    `${s.storedOnce}/${s.events} acknowledged events stored once (${s.missing.count} missing, ` +
    `${s.duplicated.count} twice, ${s.payloadMismatch.count} other payload, ${s.wrongEntity.count} other entity); ` +
    `${s.entitiesMatching}/${s.entities} entities at their acknowledged revision (checked for ${seconds(s.waitedMs)})`
  );
}

function feedLine(f: FeedCheckSummary): string {
  return (
    `${f.arrived}/${f.expected} acknowledged events arrived (${f.missing.count} missing, ` +
    `${f.contentMismatch.count} other content, ${f.routingMismatch.count} wrong routing key, ` +
    `${f.duplicates} duplicates, ${f.foreign} of other events; waited ${seconds(f.waitedMs)})`
  );
}

/** The verdict as a two-column table for people; `--json` prints the Verdict object instead. */
export function formatVerdict(v: Verdict): string {
  const answers = Object.entries(v.answers)
    .map(([label, count]) => `${label} ×${count}`)
    .join(', ');
  const rows: [string, string][] = [
    ['target', `${v.run.url} (seed ${v.run.seed}, ${seconds(v.run.durationMs)})`],
    [
      'sent',
      `${v.run.events} events + ${v.run.repeats} repeats in ${v.run.deliveries} deliveries ` +
        `(${v.run.batches} batches of up to ${v.run.largestBatch}, ${v.run.singles} singles)`,
    ],
    ['answers', answers || 'none'],
    ['retries', String(v.retries)],
    [
      'deliveries',
      `${v.deliveries.acknowledged} acknowledged, ${v.deliveries.refused} refused (400, or 401 with --on-401 drop), ` +
        `${v.deliveries.dropped} dropped after the retry schedule`,
    ],
    ['acknowledged', `${v.acknowledged.events} events, ${v.acknowledged.entities} entities`],
    ['lost', v.lost.count === 0 ? 'none' : `${v.lost.count} events, e.g. ${v.lost.sample[0].eventId}`],
  ];
  if (v.checks.database) rows.push(['database', storeLine(v.checks.database)]);
  if (v.checks.admin) rows.push(['admin API', storeLine(v.checks.admin)]);
  if (v.checks.feed) rows.push(['feed', feedLine(v.checks.feed)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return [
    `Dotdigital sender simulation: ${v.balanced ? 'BALANCED' : 'NOT BALANCED'}`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    ...(v.failures.length || v.notes.length ? [''] : []),
    ...v.failures.map((failure) => `  FAIL  ${failure}`),
    ...v.notes.map((note) => `  note  ${note}`),
    '',
  ].join('\n');
}
