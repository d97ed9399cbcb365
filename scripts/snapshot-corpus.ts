import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AnyMachineSnapshot, type AnyStateMachine, initialTransition } from 'xstate';
import { ASSOCIATION_MACHINE_VERSION, associationMachine } from '../machines/association.ts';
import { BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';
import { stateString } from '../machines/describe.ts';
import {
  ASSOCIATION_ORIGINS,
  BATCH_INPUTS,
  associationInput,
  associationKey,
  associationSamples,
  batchKey,
  batchSamples,
} from '../tests/model/fixture.ts';
import { type ModelPath, shortestPaths } from '../tests/model/support.ts';

/**
 * `npm run snapshots:corpus`: one persisted snapshot per reachable state of each machine, under
 * tests/fixtures/snapshots/<machine>/v<version>/<state>.json, reached by the model's shortest path
 * from fixed ids and times, so the files only change when the machines do. Only the current
 * version's directory is rewritten: older versions stay, because their snapshots live on in
 * databases and must keep restoring. `--check` writes nothing and fails on any difference.
 */

export const CORPUS_DIR = fileURLToPath(new URL('../tests/fixtures/snapshots/', import.meta.url));

export interface CorpusFixture {
  machine_id: string;
  machine_version: number;
  state: string;
  /** How the model got there: origin and event sample labels. For readers; restoring ignores it. */
  reached_by: string[];
  snapshot: unknown;
}

function fixturesOf(machine: AnyStateMachine, version: number, paths: Array<ModelPath<AnyMachineSnapshot, unknown>>): CorpusFixture[] {
  const shortestByState = new Map<string, ModelPath<AnyMachineSnapshot, unknown>>();
  for (const path of paths) {
    const state = stateString((path.steps.at(-1)?.after ?? path.start).value);
    const known = shortestByState.get(state);
    if (!known || path.steps.length < known.steps.length) shortestByState.set(state, path);
  }
  return [...shortestByState]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, path]) => ({
      machine_id: machine.id,
      machine_version: version,
      state,
      reached_by: [path.origin, ...path.steps.map((s) => s.label)],
      snapshot: machine.getPersistedSnapshot(path.steps.at(-1)?.after ?? path.start),
    }));
}

/** The corpus the current machines produce. */
export function currentCorpus(): CorpusFixture[] {
  const batch = shortestPaths(batchMachine, {
    origins: (['REGULAR', 'GUEST'] as const).map((name) => ({ name, start: initialTransition(batchMachine, BATCH_INPUTS[name])[0] })),
    samples: batchSamples,
    key: batchKey,
    limit: 5_000,
  });
  const association = shortestPaths(associationMachine, {
    origins: ASSOCIATION_ORIGINS.map((name) => ({ name, start: initialTransition(associationMachine, associationInput(name))[0] })),
    samples: associationSamples,
    key: associationKey,
    limit: 1_000,
  });
  return [
    ...fixturesOf(batchMachine, BATCH_MACHINE_VERSION, batch as never),
    ...fixturesOf(associationMachine, ASSOCIATION_MACHINE_VERSION, association as never),
  ];
}

export const fixtureFile = (f: Pick<CorpusFixture, 'machine_id' | 'machine_version' | 'state'>) =>
  join(CORPUS_DIR, f.machine_id, `v${f.machine_version}`, `${f.state}.json`);

export const serializeFixture = (f: CorpusFixture) => `${JSON.stringify(f, null, 2)}\n`;

/** Every committed fixture, of every machine and version. */
export function committedCorpus(): Array<CorpusFixture & { file: string }> {
  if (!existsSync(CORPUS_DIR)) return [];
  return readdirSync(CORPUS_DIR, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ ...(JSON.parse(readFileSync(join(CORPUS_DIR, name), 'utf8')) as CorpusFixture), file: name }));
}

function main() {
  const check = process.argv.includes('--check');
  const fixtures = currentCorpus();
  const dirs = [...new Set(fixtures.map((f) => join(CORPUS_DIR, f.machine_id, `v${f.machine_version}`)))];
  if (check) {
    const expected = new Map(fixtures.map((f) => [fixtureFile(f), serializeFixture(f)]));
    const present = dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).map((n) => join(d, n)) : []));
    const drift = [
      ...[...expected].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file),
      ...present.filter((file) => !expected.has(file)),
    ];
    if (drift.length > 0) {
      console.error(`snapshot corpus is stale; run npm run snapshots:corpus:\n  ${drift.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`snapshot corpus up to date (${fixtures.length} fixtures)`);
    return;
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const f of fixtures) {
    mkdirSync(join(fixtureFile(f), '..'), { recursive: true });
    writeFileSync(fixtureFile(f), serializeFixture(f));
  }
  console.log(`wrote ${fixtures.length} fixtures to ${dirs.join(', ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
