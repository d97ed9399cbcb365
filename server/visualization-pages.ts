import { z } from 'zod';

export const MERMAID_BUNDLE_URL = '/visualizations/assets/mermaid.min.js';

/** The parts of a generated `visualizations/<name>.json` digraph that the pages show. */
export const ChartGraph = z.object({
  id: z.string(),
  version: z.number(),
  source: z.string(),
  description: z.string().nullable(),
  nodes: z.array(z.object({ id: z.string(), parent: z.string().nullable(), type: z.string(), description: z.string().nullable() })),
  edges: z.array(
    z.object({
      source: z.string(),
      target: z.string().nullable(),
      event: z.string().nullable(),
      guard: z.string().nullable(),
      actions: z.array(z.string()),
      description: z.string().nullable(),
    }),
  ),
});
export type ChartGraph = z.infer<typeof ChartGraph>;

/** One committed chart: its file stem, its digraph and its Mermaid source. */
export interface ChartFiles {
  name: string;
  graph: ChartGraph;
  mermaid: string;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2328; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
code { font-size: 0.9em; }
pre.mermaid { background: #fff; }`;

// The pages are rendered here from the generated digraphs rather than committed as HTML, so the
// one layout below is the only copy of the page head and the tables.
function page(title: string, content: string, withMermaid: boolean): string {
  const scripts = withMermaid
    ? `<script src="${MERMAID_BUNDLE_URL}"></script>
<script>mermaid.initialize({ startOnLoad: true, securityLevel: 'strict' });</script>
`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>
${STYLE}
</style>
</head>
<body>
${content}
${scripts}</body>
</html>
`;
}

function cell(text: string | null): string {
  return `<td>${text === null ? '' : escapeHtml(text)}</td>`;
}

export function chartPage({ name, graph, mermaid }: ChartFiles): string {
  const keyOf = new Map(graph.nodes.map((n) => [n.id, n.id === graph.id ? '(machine)' : n.id.slice(graph.id.length + 1)]));
  const state = (nodeId: string | null) => (nodeId === null ? null : (keyOf.get(nodeId) ?? nodeId));
  const stateRows = graph.nodes
    .filter((n) => n.parent !== null)
    .map((n) => `<tr>${cell(state(n.id))}${cell(n.type)}${cell(n.description)}</tr>`);
  const edgeRows = graph.edges.map(
    (e) =>
      `<tr>${cell(state(e.source))}${cell(e.event ?? 'always')}${cell(e.guard)}${cell(state(e.target) ?? '(stays)')}${cell(e.actions.join(', '))}${cell(e.description)}</tr>`,
  );
  const content = `<p><a href="/visualizations">All machines</a></p>
<h1>${escapeHtml(graph.id)} <small>version ${graph.version}</small></h1>
<p>${escapeHtml(graph.description ?? '')}</p>
<p>Generated from <code>${escapeHtml(graph.source)}</code> by <code>npm run visualize</code>. Sources: <a href="/visualizations/${name}.mmd">${name}.mmd</a>, <a href="/visualizations/${name}.json">${name}.json</a>.</p>
<pre class="mermaid">
${escapeHtml(mermaid)}</pre>
<h2>States</h2>
<table>
<tr><th>State</th><th>Type</th><th>Description</th></tr>
${stateRows.join('\n')}
</table>
<h2>Transitions</h2>
<table>
<tr><th>From</th><th>Event</th><th>Guard</th><th>To</th><th>Actions</th><th>Description</th></tr>
${edgeRows.join('\n')}
</table>`;
  return page(`${graph.id} statechart`, content, true);
}

export function indexPage(charts: ChartFiles[]): string {
  const items = charts.map(
    ({ name, graph }) =>
      `<li><a href="/visualizations/${name}">${escapeHtml(graph.id)}</a> (version ${graph.version}, <code>${escapeHtml(graph.source)}</code>): ${escapeHtml(graph.description ?? '')} <a href="/visualizations/${name}.mmd">mmd</a> <a href="/visualizations/${name}.json">json</a></li>`,
  );
  const content = `<h1>Statecharts</h1>
<p>Generated from the machines by <code>npm run visualize</code>; a test fails when these drift from the code.</p>
<ul>
${items.join('\n')}
</ul>`;
  return page('Statecharts', content, false);
}
