import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { charts } from './charts.ts';
import { renderVisualizations } from './diagram.ts';

const outDir = fileURLToPath(new URL('../visualizations/', import.meta.url));
const files = renderVisualizations(charts);

await mkdir(outDir, { recursive: true });
// A machine that was removed must not leave its old diagram behind; the drift test would fail on it.
for (const name of await readdir(outDir)) {
  if (/\.(mmd|json|html)$/.test(name) && !files.has(name)) await rm(`${outDir}${name}`);
}
for (const [name, content] of files) await writeFile(`${outDir}${name}`, content);
console.log(`visualize: wrote ${[...files.keys()].join(', ')} to visualizations/`);
