import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run mutants [-- --suite model|fast] [-- --only id,id]`: applies each committed semantic
 * mutant (tests/mutants/mutants.json) alone, runs the chosen suite, and reports which mutants no
 * test noticed. The mutated file is restored after every run, also on a crash or Ctrl-C.
 * Not part of `npm test`: it runs the suite once per mutant.
 */

interface Mutant {
  id: string;
  file: string;
  find: string;
  replace: string;
  why: string;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LIST = join(ROOT, 'tests/mutants/mutants.json');

/** The fast tests: no Redis, no browser, no child processes; PostgreSQL only. */
const SUITES: Record<string, string[]> = {
  model: ['tests/model'],
  fast: ['tests/unit', 'tests/model', 'tests/property', 'tests/integration/boundaries.test.ts'],
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

const mutants = JSON.parse(readFileSync(LIST, 'utf8')) as Mutant[];
const suiteName = option('suite') ?? 'fast';
const suite = SUITES[suiteName];
if (!suite) throw new Error(`unknown suite ${suiteName}; one of ${Object.keys(SUITES).join(', ')}`);
const only = option('only')?.split(',');
const chosen = only ? mutants.filter((m) => only.includes(m.id)) : mutants;

// Every mutant must still match its code exactly once before anything runs: a stale `find` is an
// error in the list, not a survivor or a kill.
const problems = chosen.flatMap((m) => {
  const count = readFileSync(join(ROOT, m.file), 'utf8').split(m.find).length - 1;
  return count === 1 ? [] : [`${m.id}: \`find\` occurs ${count} times in ${m.file} (must be exactly once)`];
});
const ids = new Set<string>();
for (const m of mutants) {
  if (ids.has(m.id)) problems.push(`${m.id}: duplicate id`);
  ids.add(m.id);
}
if (problems.length > 0) {
  console.error(`mutant list ${LIST} does not match the code:\n  ${problems.join('\n  ')}`);
  process.exit(2);
}

/** The one file currently mutated and its original text, restored on every way out. */
let applied: { path: string; original: string } | null = null;
let running: ChildProcess | null = null;
function restore() {
  running?.kill('SIGTERM');
  if (applied) writeFileSync(applied.path, applied.original);
  applied = null;
}
process.on('exit', restore);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    restore();
    console.error(`\n${signal}: restored the mutated file; stopping`);
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  restore();
  console.error(error);
  process.exit(1);
});

function runSuite(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', '--bail=1', '--reporter=dot', ...suite!], {
      cwd: ROOT,
      // A fixed seed keeps the score reproducible; no shrinking, since any failure is a kill.
      env: { ...process.env, CI: '1', NO_COLOR: '1', PROPERTY_SEED: process.env.PROPERTY_SEED ?? '20261201', PROPERTY_NO_SHRINK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running = child;
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      running = null;
      resolve({ code: code ?? 1, output });
    });
  });
}

/** The first failing test's name (colours stripped), so a kill says what caught it. */
const firstFailure = (output: string) =>
  /(?:FAIL|×)\s+(.+)/
    .exec(output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1]
    ?.trim()
    .slice(0, 160) ?? 'suite failed';

async function main() {
  const started = Date.now();
  console.log(`mutants: ${chosen.length} from tests/mutants/mutants.json, suite "${suiteName}" (${suite!.join(' ')})`);
  const baseline = await runSuite();
  if (baseline.code !== 0) {
    console.error(`the suite fails without any mutant; fix it first:\n${baseline.output.slice(-3000)}`);
    process.exit(2);
  }
  const survivors: Mutant[] = [];
  for (const [i, m] of chosen.entries()) {
    const path = join(ROOT, m.file);
    const original = readFileSync(path, 'utf8');
    applied = { path, original };
    writeFileSync(
      path,
      original.replace(m.find, () => m.replace),
    );
    const t0 = Date.now();
    const result = await runSuite();
    restore();
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    if (result.code === 0) survivors.push(m);
    const verdict = result.code === 0 ? 'SURVIVED' : `killed by ${firstFailure(result.output)}`;
    console.log(`[${i + 1}/${chosen.length}] ${m.id} (${seconds}s): ${verdict}`);
  }
  const killed = chosen.length - survivors.length;
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(
    `\nmutation score (${suiteName}): ${killed}/${chosen.length} killed, ${((100 * killed) / chosen.length).toFixed(1)} % in ${minutes} min`,
  );
  if (survivors.length > 0) {
    console.log('survivors:');
    for (const m of survivors) console.log(`  ${m.id} (${m.file}): ${m.why}`);
  }
  process.exit(survivors.length === 0 ? 0 : 1);
}

await main();
