/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. a `BENCH_PROFILE=1` bench run): where the
 * process spent its CPU, by package and by function (self time).
 *   node -r ts-node/register/transpile-only bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<pkg>, the app's own code, Node internals, or V8 pseudo-frames. */
export function categoryOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const app = /\/(dist|src|\.build-[^/]+|bench)\/(.*)$/.exec(url);
  if (app) return `app:${app[2].split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

export function summariseProfile(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + delta);
    total += delta;
  });
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
  const idleTime = idle.reduce((sum, [, t]) => sum + t, 0);
  const busy = total - idleTime;

  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, time] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const category = categoryOf(url, functionName);
    byCategory.set(category, (byCategory.get(category) ?? 0) + time);
    const name = `${functionName || '(anonymous)'} ${category}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
  }
  // Inclusive: time with a package anywhere on the stack (who is responsible, not who burns cycles).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  const inclusiveFunction = new Map<string, number>();
  for (const [id, time] of self) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    const seenFunctions = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName, lineNumber } = byId.get(at)!.callFrame;
      if (!url) continue;
      const category = categoryOf(url, functionName);
      seen.add(category);
      if (functionName) seenFunctions.add(`${functionName} ${category}:${lineNumber + 1}`);
    }
    for (const category of seen) inclusive.set(category, (inclusive.get(category) ?? 0) + time);
    for (const name of seenFunctions) inclusiveFunction.set(name, (inclusiveFunction.get(name) ?? 0) + time);
  }
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${path}`,
    `profiled ${(total / 1e6).toFixed(1)} s, busy (not idle) ${(busy / 1e6).toFixed(1)} s; shares below are of busy time`,
    '',
    'self time by package / area:',
  ];
  for (const [category, time] of [...byCategory].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(time)}  ${category}`);
  lines.push('', 'inclusive time (package anywhere on the stack):');
  for (const [category, time] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(time)}  ${category}`);
  lines.push('', `top ${top} named functions by inclusive time (not from node internals):`);
  for (const [name, time] of [...inclusiveFunction]
    .filter(([name]) => !/ node:/.test(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    lines.push(`  ${pct(time)}  ${name}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [name, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(time)}  ${name}`);
  return lines.join('\n');
}

if (require.main === module) {
  const [path, top] = process.argv.slice(2);
  if (!path) {
    console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summariseProfile(path, top ? Number(top) : 25));
}
