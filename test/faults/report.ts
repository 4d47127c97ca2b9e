import type { TrialResult } from './trial';

const s = (ms: number | null) => (ms === null ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
const rate = (n: number) => n.toFixed(0);

function answers(result: TrialResult): string {
  return Object.entries(result.answers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, count]) => `${label} ×${count}`)
    .join(', ');
}

function verdict(result: TrialResult): string {
  const v = result.verdict;
  const db = v.checks.database;
  const feed = v.checks.feed;
  const stored = db
    ? `${db.storedOnce}/${db.events} stored once, ${db.entitiesMatching}/${db.entities} entities`
    : '';
  const onFeed = feed ? `${feed.arrived}/${feed.expected} on the feed` : '';
  const head = result.balanced ? '**balanced**' : `**NOT balanced**: ${result.failures.join('; ')}`;
  return `${head} (${[stored, onFeed, `DLQ +${result.deadLetters}`].filter(Boolean).join(', ')})`;
}

/** The Markdown table of a run: one row per fault. */
export function markdownTable(results: TrialResult[]): string {
  const header =
    '| fault | held | load offered / acked (ev/s) | acked during fault (ev/s) | answers (attempts) | ledger | first 200 after the end | longest without a 200 | balanced after the end |';
  const rule = '|---|---|---|---|---|---|---|---|---|';
  const rows = results.map(
    (r) =>
      `| ${r.fault} | ${s(r.window.end - r.window.start)} | ${rate(r.offeredPerSecond)} / ${rate(r.acknowledgedPerSecond)} | ` +
      `${rate(r.acknowledgedDuringFault)} | ${answers(r)} | ${verdict(r)} | ${s(r.toFirst200Ms)} | ` +
      `${s(r.longestGapMs)} | ${s(r.toBalancedMs)} |`,
  );
  return [header, rule, ...rows].join('\n');
}

/** What each fault is, and what was noted while it ran. */
export function markdownNotes(results: TrialResult[]): string {
  return results
    .map((r) => {
      const notes = r.notes.length ? r.notes.map((note) => `  - ${note}`).join('\n') : '';
      return `- **${r.fault}**: ${r.description}.${notes ? `\n${notes}` : ''}`;
    })
    .join('\n');
}
