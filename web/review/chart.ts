import type { ChartGraph, HistoryRow } from './types.ts';

/**
 * The batch statechart as /visualizations draws it (generated from machines/), with the batch's
 * current state and the states it passed through coloured, and the events its state accepts.
 */

declare const mermaid: {
  initialize(config: Record<string, unknown>): void;
  render(id: string, text: string): Promise<{ svg: string }>;
};

let sources: Promise<{ mmd: string; graph: ChartGraph }> | undefined;
let mermaidScript: Promise<void> | undefined;

/** Mermaid (a large bundle) is loaded only when someone opens the details, not with every page. */
function loadMermaid(): Promise<void> {
  mermaidScript ??= new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/visualizations/assets/mermaid.min.js';
    script.onload = () => resolve();
    script.onerror = () => {
      mermaidScript = undefined;
      reject(new Error('the chart script did not load'));
    };
    document.head.append(script);
  });
  return mermaidScript;
}

export function loadChart() {
  sources ??= Promise.all([
    fetch('/visualizations/batch.mmd').then((r) => r.text()),
    fetch('/visualizations/batch.json').then((r) => r.json() as Promise<ChartGraph>),
  ]).then(([mmd, graph]) => ({ mmd, graph }));
  return sources;
}

/** A state string ("a.b") as the Mermaid id the generator gives it (path joined by "__"). */
export const mermaidId = (state: string) =>
  state
    .split('.')
    .join('__')
    .replace(/[^A-Za-z0-9_]/g, '_');

/** Every state the batch has been in, oldest first, from the applied history rows. */
export function pathTaken(history: HistoryRow[]): string[] {
  const path: string[] = [];
  for (const row of history) {
    if (row.outcome !== 'applied' || row.to_state === null) continue;
    if (path.at(-1) !== row.to_state) path.push(row.to_state);
  }
  return path;
}

/** The leaf state and its ancestors: "a.b" → ["a.b", "a"]. */
function withAncestors(state: string): string[] {
  const parts = state.split('.');
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('.'));
}

/** Transitions the current state (or an enclosing one) has, as the chart names them. */
export function acceptedNow(graph: ChartGraph, state: string) {
  const sources = new Set(withAncestors(state).map((s) => `${graph.id}.${s}`));
  return graph.edges
    .filter((e) => sources.has(e.source))
    .map((e) => ({
      event: e.event ?? 'always',
      guard: e.guard,
      target: e.target === null ? '(stays)' : e.target.slice(graph.id.length + 1),
    }));
}

export function highlighted(mmd: string, state: string, path: string[]): string {
  const leaves = (s: string) => mermaidId(s);
  const visited = [...new Set(path.filter((s) => s !== state).map(leaves))];
  const lines = [
    mmd.trimEnd(),
    '  classDef current fill:#ffd33d,stroke:#7d4e00,stroke-width:4px,color:#000,font-weight:bold',
    '  classDef visited fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px,color:#000',
  ];
  if (visited.length > 0) lines.push(`  class ${visited.join(',')} visited`);
  lines.push(`  class ${leaves(state)} current`);
  return `${lines.join('\n')}\n`;
}

const rendered = new Map<string, string>();
let counter = 0;
let initialized = false;

/** The SVG for this state and path: from the cache, or rendered now and handed to `ready`. */
export function chartSvg(state: string, path: string[], ready: () => void): string | null {
  const key = `${state}|${path.join(',')}`;
  const done = rendered.get(key);
  if (done !== undefined) return done;
  if (!rendered.has(`pending:${key}`)) {
    rendered.set(`pending:${key}`, '');
    void Promise.all([loadChart(), loadMermaid()]).then(async ([{ mmd }]) => {
      if (!initialized) {
        mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', themeVariables: { fontSize: '16px' } });
        initialized = true;
      }
      const { svg } = await mermaid.render(`batch-chart-${++counter}`, highlighted(mmd, state, path));
      rendered.set(key, svg);
      ready();
    });
  }
  return null;
}
