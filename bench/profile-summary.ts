import { readFileSync } from 'node:fs';

/**
 * Where a CPU profile's time goes: self time by package (or project folder) and the top functions,
 * as shares of all samples. Usage: node --import tsx bench/profile-summary.ts a.cpuprofile [top]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function owner(url: string): string {
  if (url === '') return '(native/V8)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node core';
  const project = /\/work\/[^/]+\/([^/]+)\//.exec(url);
  return project ? `project ${project[1]}/` : url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);

const add = (map: Map<string, number>, key: string, t: number) => map.set(key, (map.get(key) ?? 0) + t);
const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\//, '')}:${lineNumber + 1}:${columnNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const packages = new Map<string, number>();
const functions = new Map<string, number>();
/** Inclusive time: every function on the sampled stack, each counted once per sample. */
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === '(idle)') continue;
  add(packages, owner(node.callFrame.url), t);
  add(functions, label(node), t);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)!;
    if (!frame.callFrame.functionName || frame.callFrame.functionName.startsWith('(')) continue;
    const key = `${frame.callFrame.functionName} [${owner(frame.callFrame.url)}]`;
    if (!seen.has(key)) {
      seen.add(key);
      add(inclusive, key, t);
    }
  }
}
const pct = (t: number, of = total) => `${((100 * t) / of).toFixed(1).padStart(5)} %`;
const top = Number(topArg ?? 15);
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`${title}\n`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${pct(t)} of all, ${pct(t, total - idle)} of busy  ${k}\n`);
  }
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${pct(idle)} idle (waiting on PostgreSQL, sockets)\n`);
print('self time by package / project folder:', packages);
print('top functions (self time):', functions);
print('top named functions (inclusive time):', inclusive);
