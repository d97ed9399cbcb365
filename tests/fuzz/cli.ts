import { parseArgs } from 'node:util';
import { runFuzz } from './hostile-requests.ts';

/**
 * Test tooling, not a production script, so it lives with the test it lengthens (it runs the test
 * harness over a database of its own). The long fuzz run: `npm run fuzz -- --runs 20000 [--seed N] [--pglite]`. It uses DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/test) for a database of its own, or embedded PGlite.
 */
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20000' }, seed: { type: 'string' }, pglite: { type: 'boolean', default: false } },
});
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
console.log(`fuzz seed ${seed} (rerun with --seed ${seed})`);
try {
  const report = await runFuzz({ runs: Number(values.runs), seed, pglite: values.pglite, log: (line) => console.log(line) });
  console.log(
    `fuzz passed: ${report.runs} runs, ${report.requests} requests in ${(report.ms / 1000).toFixed(1)} s on ${values.pglite ? 'PGlite' : 'PostgreSQL'}`,
  );
  console.log(`by status: ${JSON.stringify(report.byStatus)}`);
  process.exit(0);
} catch (error) {
  console.error(`fuzz FAILED with seed ${seed}:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
