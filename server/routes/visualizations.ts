import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { type ChartFiles, ChartGraph, MERMAID_BUNDLE_URL, chartPage, indexPage } from '../visualization-pages.ts';

const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  mmd: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;

const VISUALIZATIONS_DIR = fileURLToPath(new URL('../../visualizations/', import.meta.url));
const MERMAID_BUNDLE = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A committed chart's digraph and Mermaid source, or null when there is no such chart. */
async function chartFiles(name: string): Promise<ChartFiles | null> {
  const [json, mermaid] = await Promise.all([
    readOrNull(`${VISUALIZATIONS_DIR}${name}.json`),
    readOrNull(`${VISUALIZATIONS_DIR}${name}.mmd`),
  ]);
  if (json === null || mermaid === null) return null;
  return { name, graph: ChartGraph.parse(JSON.parse(json.toString('utf8'))), mermaid: mermaid.toString('utf8') };
}

async function allCharts(): Promise<ChartFiles[]> {
  const names = (await readdir(VISUALIZATIONS_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
  const charts = await Promise.all(names.sort().map(chartFiles));
  return charts.filter((chart) => chart !== null);
}

const html = (body: string) => new Response(body, { headers: { 'content-type': CONTENT_TYPES.html, 'cache-control': 'no-cache' } });

/**
 * The statechart pages, public like the health checks: they show the charts, never data. They
 * are rendered from the generated digraphs on each request, and the Mermaid bundle is served from
 * node_modules, so the pages render with no network.
 */
export function visualizationRoutes() {
  const app = new Hono();
  let bundle: Promise<Buffer> | undefined;

  // Names are matched by pattern before they touch the disk, so no path can climb out of the folder.
  const send = async (file: string, type: keyof typeof CONTENT_TYPES) => {
    const body = await readOrNull(`${VISUALIZATIONS_DIR}${file}`);
    if (body === null) return null;
    return new Response(new Uint8Array(body), {
      headers: { 'content-type': CONTENT_TYPES[type], 'cache-control': 'no-cache' },
    });
  };

  app.get('/visualizations', async () => html(indexPage(await allCharts())));
  app.get('/visualizations/', async () => html(indexPage(await allCharts())));
  app.get(MERMAID_BUNDLE_URL, async () => {
    bundle ??= readFile(MERMAID_BUNDLE).catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return new Response(new Uint8Array(await bundle), {
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' },
    });
  });
  app.get('/visualizations/:file{[a-z0-9-]+\\.(?:mmd|json)}', async (c) => {
    const file = c.req.param('file');
    const type = file.slice(file.lastIndexOf('.') + 1) as keyof typeof CONTENT_TYPES;
    return (await send(file, type)) ?? c.notFound();
  });
  app.get('/visualizations/:chart{[a-z0-9-]+}', async (c) => {
    const chart = await chartFiles(c.req.param('chart'));
    return chart === null ? c.notFound() : html(chartPage(chart));
  });
  return app;
}
