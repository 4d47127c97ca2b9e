/**
 * The checks of scripts/check-ops.sh that promtool does not do, on ops/:
 *
 * 1. every metric named in the PromQL of the alert rules and of the Grafana dashboard (panel
 *    targets, query variables) is one the service exports, as listed in a names file (one per line;
 *    histograms by their base name, so `x_bucket`, `x_sum` and `x_count` count as `x`);
 * 2. every alert has a `for:`, a severity label, a summary and a description, and a runbook
 *    annotation `docs/operations.md#<its name in lower case>` whose `###` heading exists under
 *    `## Alerts` (and that section has no entry for an alert that is gone);
 * 3. every alert is expected to fire in at least one case of the rule tests and to stay quiet in at
 *    least one (promtool only checks the cases that are written);
 * 4. the dashboard takes its data source from the `datasource` variable and has `job` and
 *    `instance` variables.
 *
 *   node -r ts-node/register/transpile-only scripts/ops-metric-names.ts <names-file>
 *
 * `metricNames` is a tokenizer, not a PromQL parser: it drops string literals, label matchers,
 * ranges, Grafana variables and `by`/`on`/... label lists, then keeps the identifiers that are not
 * followed by `(` (functions and aggregations) and are not keywords.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

const REPO = resolve(__dirname, '..');
const RULES = 'ops/prometheus/alerts.yml';
const TESTS = 'ops/prometheus/alerts.test.yml';
const DASHBOARD = 'ops/grafana/dashboard.json';
const DOCS = 'docs/operations.md';

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);
/** Series that Prometheus itself writes for every target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Metric names used by one PromQL expression (or Grafana variable query). */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables: ${datasource}, $job, $__rate_interval
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/#[^\n]*/g, ' ') // comments
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ') // label lists
    .replace(/\blabel_values\s*\(\s*([^,()]*?)\s*,\s*\w+\s*\)/g, ' $1 ') // Grafana: metric, label
    .replace(/\blabel_values\s*\(\s*\w+\s*\)/g, ' '); // Grafana: a label alone
  const names = new Set<string>();
  const token = /(\d[\w.]*)|([A-Za-z_:][\w:]*)|(\S)/g;
  for (let m = token.exec(s); m; m = token.exec(s)) {
    const ident = m[2];
    if (!ident || KEYWORDS.has(ident.toLowerCase())) continue;
    if (/^\s*\(/.test(s.slice(token.lastIndex))) continue; // a function or an aggregation
    names.add(ident);
  }
  return [...names];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function read(path: string): string {
  return readFileSync(resolve(REPO, path), 'utf8');
}

interface Use {
  where: string;
  expr: string;
}

interface Alert {
  name: string;
  rule: Record<string, unknown>;
}

function alertsOf(rulesDoc: unknown): { alerts: Alert[]; uses: Use[] } {
  const alerts: Alert[] = [];
  const uses: Use[] = [];
  const groups = isRecord(rulesDoc) ? list(rulesDoc.groups) : [];
  for (const group of groups.filter(isRecord)) {
    for (const rule of list(group.rules).filter(isRecord)) {
      const name = str(rule.alert) ?? str(rule.record) ?? '(unnamed rule)';
      const expr = str(rule.expr);
      if (expr) uses.push({ where: `${RULES}: ${name}`, expr });
      if (str(rule.alert)) alerts.push({ name, rule });
    }
  }
  return { alerts, uses };
}

function dashboardUses(node: unknown, where: string, uses: Use[]): void {
  if (Array.isArray(node)) {
    node.forEach((item) => dashboardUses(item, where, uses));
    return;
  }
  if (!isRecord(node)) return;
  const here = str(node.title) ? `${DASHBOARD}: ${str(node.title)}` : where;
  const expr = str(node.expr);
  if (expr) uses.push({ where: here, expr });
  if (node.type === 'query' && str(node.name)) {
    const query = isRecord(node.query) ? str(node.query.query) : str(node.query);
    for (const q of [query, str(node.definition)])
      if (q) uses.push({ where: `${DASHBOARD}: variable ${str(node.name)}`, expr: q });
  }
  for (const [key, value] of Object.entries(node)) if (key !== 'expr') dashboardUses(value, here, uses);
}

function dashboardProblems(dashboard: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(dashboard)) return [`${DASHBOARD}: not a JSON object`];
  const variables = isRecord(dashboard.templating) ? list(dashboard.templating.list).filter(isRecord) : [];
  const variable = (name: string) => variables.find((v) => v.name === name);
  const ds = variable('datasource');
  if (!ds || ds.type !== 'datasource' || ds.query !== 'prometheus')
    problems.push(`${DASHBOARD}: no "datasource" variable of type datasource for prometheus`);
  for (const name of ['job', 'instance'])
    if (!variable(name)) problems.push(`${DASHBOARD}: no "${name}" variable`);
  const checkDatasource = (node: unknown, where: string) => {
    if (!isRecord(node) || node.uid !== '${datasource}')
      problems.push(`${where}: datasource is not the \${datasource} variable`);
  };
  for (const panel of list(dashboard.panels).filter(isRecord)) {
    if (panel.type === 'row') continue;
    const where = `${DASHBOARD}: panel "${str(panel.title) ?? '?'}"`;
    checkDatasource(panel.datasource, where);
    const targets = list(panel.targets).filter(isRecord);
    if (targets.length === 0) problems.push(`${where}: no query`);
    for (const target of targets) checkDatasource(target.datasource, where);
  }
  return problems;
}

/** GitHub's anchor of a Markdown heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

function runbookProblems(alerts: Alert[], docs: string): string[] {
  const problems: string[] = [];
  const section = /^## Alerts\s*$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(docs);
  if (!section) return [`${DOCS}: no "## Alerts" section`];
  const entries = [...section[1].matchAll(/^### (.+)$/gm)].map((m) => slug(m[1]));
  for (const { name, rule } of alerts) {
    const labels = isRecord(rule.labels) ? rule.labels : {};
    const annotations = isRecord(rule.annotations) ? rule.annotations : {};
    if (!str(rule.for)) problems.push(`${RULES}: ${name} has no "for:"`);
    if (!str(labels.severity)) problems.push(`${RULES}: ${name} has no severity label`);
    for (const key of ['summary', 'description'])
      if (!str(annotations[key])) problems.push(`${RULES}: ${name} has no ${key} annotation`);
    const anchor = name.toLowerCase();
    if (annotations.runbook !== `${DOCS}#${anchor}`)
      problems.push(`${RULES}: ${name}: runbook annotation is not ${DOCS}#${anchor}`);
    if (!entries.includes(anchor)) problems.push(`${DOCS}: no "### ${anchor}" under "## Alerts" for ${name}`);
  }
  const names = new Set(alerts.map((a) => a.name.toLowerCase()));
  for (const entry of entries)
    if (!names.has(entry)) problems.push(`${DOCS}: "### ${entry}" is the runbook of no alert in ${RULES}`);
  return problems;
}

function coverageProblems(alerts: Alert[], testsDoc: unknown): string[] {
  const fires = new Set<string>();
  const quiet = new Set<string>();
  const tests = isRecord(testsDoc) ? list(testsDoc.tests).filter(isRecord) : [];
  for (const test of tests) {
    for (const c of list(test.alert_rule_test).filter(isRecord)) {
      const name = str(c.alertname);
      if (name) (list(c.exp_alerts).length > 0 ? fires : quiet).add(name);
    }
  }
  const problems: string[] = [];
  const known = new Set(alerts.map((a) => a.name));
  for (const { name } of alerts) {
    if (!fires.has(name)) problems.push(`${TESTS}: no case where ${name} fires`);
    if (!quiet.has(name)) problems.push(`${TESTS}: no case where ${name} stays quiet`);
  }
  for (const name of new Set([...fires, ...quiet]))
    if (!known.has(name)) problems.push(`${TESTS}: tests ${name}, which is no alert of ${RULES}`);
  return problems;
}

function main(): void {
  const namesFile = process.argv[2];
  if (!namesFile) {
    console.error('usage: ops-metric-names.ts <file of exported metric names, one per line>');
    process.exit(2);
  }
  const exported = new Set(
    readFileSync(namesFile, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#')),
  );
  const isExported = (name: string) =>
    exported.has(name) || exported.has(name.replace(/_(?:bucket|sum|count)$/, ''));

  const { alerts, uses } = alertsOf(parse(read(RULES)));
  const dashboard: unknown = JSON.parse(read(DASHBOARD));
  dashboardUses(dashboard, DASHBOARD, uses);

  const problems: string[] = [];
  const used = new Set<string>();
  for (const { where, expr } of uses) {
    for (const name of metricNames(expr)) {
      if (PROMETHEUS_SERIES.has(name)) continue;
      used.add(name.replace(/_(?:bucket|sum|count)$/, ''));
      if (!isExported(name)) problems.push(`${where}: ${name} is not exported (not in ${namesFile})`);
    }
  }
  problems.push(...runbookProblems(alerts, read(DOCS)));
  problems.push(...coverageProblems(alerts, parse(read(TESTS))));
  problems.push(...dashboardProblems(dashboard));

  const unused = [...exported].filter((n) => n.startsWith('webhook_') && !used.has(n));
  if (unused.length) console.log(`note: exported but on no panel or alert: ${unused.join(', ')}`);
  if (problems.length) {
    for (const p of [...new Set(problems)]) console.error(`FAIL: ${p}`);
    process.exit(1);
  }
  console.log(
    `ok: ${used.size} metric names in ${uses.length} expressions, all exported (${namesFile}); ` +
      `${alerts.length} alerts, each with for/severity/summary/description/runbook, a runbook entry, ` +
      'a firing and a quiet test; dashboard variables and data sources',
  );
}

if (require.main === module) main();
