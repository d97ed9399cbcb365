import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AnyMachineSnapshot, type AnyStateMachine, initialTransition } from 'xstate';
import { ASSOCIATION_MACHINE_VERSION, associationMachine } from '../machines/association.ts';
import { BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';
import { stateString } from '../machines/describe.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import {
  ASSOCIATION_ORIGINS,
  BATCH_INPUTS,
  associationInput,
  associationKey,
  associationSamples,
  batchKey,
  batchSamples,
} from '../model/fixture.ts';
import { type ModelPath, shortestPaths } from '../model/paths.ts';
import { type MachineShape, committedFiles, shapeFile, shapeOf } from './machine-shapes.ts';

/**
 * `npm run snapshots:corpus`: one persisted snapshot per reachable state of each machine, under
 * tests/fixtures/snapshots/<machine>/v<version>/<state>.json, reached by the model's shortest path
 * from fixed ids and times, so the files only change when the machines do. It also writes the
 * version's shape (state names and context keys) to tests/fixtures/machine-shapes/<machine>.v<n>.json.
 * Fixtures and shapes of a version that is already committed are released: their snapshots live on
 * in databases, so the script refuses to change them, and a changed machine needs a new version
 * (a new directory) and a migration. `--check` writes nothing and fails on any difference.
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

function fixturesOf(
  machine: AnyStateMachine,
  version: number,
  paths: Array<ModelPath<AnyMachineSnapshot, unknown>>,
  persist: (snapshot: AnyMachineSnapshot) => unknown = (snapshot) => machine.getPersistedSnapshot(snapshot),
): CorpusFixture[] {
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
      snapshot: persist(path.steps.at(-1)?.after ?? path.start),
    }));
}

/** The corpus the current machines produce. */
export function currentCorpus(): CorpusFixture[] {
  const batch = shortestPaths(batchMachine, {
    origins: (['REGULAR', 'GUEST'] as const).map((name) => ({ name, start: initialTransition(batchMachine, BATCH_INPUTS[name])[0] })),
    samples: batchSamples,
    key: batchKey,
    limit: 6_000,
  });
  const association = shortestPaths(associationMachine, {
    origins: ASSOCIATION_ORIGINS.map((name) => ({ name, start: initialTransition(associationMachine, associationInput(name))[0] })),
    samples: associationSamples,
    key: associationKey,
    limit: 1_000,
  });
  return [
    // A batch persists without its association records (rows of their own since v3), as production writes it.
    ...fixturesOf(batchMachine, BATCH_MACHINE_VERSION, batch as never, (snapshot) => persistedBatchSnapshot(snapshot as never)),
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

/** The shape of each current machine version, from the contexts of every reachable state. */
export function currentShapes(fixtures = currentCorpus()): MachineShape[] {
  const contexts = (id: string) => fixtures.filter((f) => f.machine_id === id).map((f) => (f.snapshot as { context: unknown }).context);
  return [
    shapeOf(batchMachine, BATCH_MACHINE_VERSION, contexts(batchMachine.id)),
    shapeOf(associationMachine, ASSOCIATION_MACHINE_VERSION, contexts(associationMachine.id)),
  ];
}

export const serializeShape = (s: MachineShape) => `${JSON.stringify(s, null, 2)}\n`;

/** One version's files: what the machines produce now, and what is on disk under its names. */
interface VersionFiles {
  label: string;
  dir: string;
  expected: Map<string, string>;
  /** Files on disk that belong to this version (a directory's files, or the one shape file). */
  present: string[];
}

function versionFiles(fixtures: CorpusFixture[], shapes: MachineShape[]): VersionFiles[] {
  const byDir = new Map<string, VersionFiles>();
  for (const f of fixtures) {
    const dir = join(CORPUS_DIR, f.machine_id, `v${f.machine_version}`);
    const entry = byDir.get(dir) ?? { label: `${f.machine_id} v${f.machine_version} fixtures`, dir, expected: new Map(), present: [] };
    entry.expected.set(fixtureFile(f), serializeFixture(f));
    byDir.set(dir, entry);
  }
  for (const entry of byDir.values()) entry.present = existsSync(entry.dir) ? readdirSync(entry.dir).map((n) => join(entry.dir, n)) : [];
  const shapeEntries = shapes.map((s) => {
    const file = shapeFile(s.machine_id, s.machine_version);
    return {
      label: `${s.machine_id} v${s.machine_version} shape`,
      dir: file,
      expected: new Map([[file, serializeShape(s)]]),
      present: existsSync(file) ? [file] : [],
    };
  });
  return [...byDir.values(), ...shapeEntries];
}

const driftOf = (v: VersionFiles) => [
  ...[...v.expected].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file),
  ...v.present.filter((file) => !v.expected.has(file)),
];

function main() {
  const check = process.argv.includes('--check');
  const fixtures = currentCorpus();
  const versions = versionFiles(fixtures, currentShapes(fixtures));
  const stale = versions.filter((v) => driftOf(v).length > 0);
  if (check) {
    if (stale.length > 0) {
      console.error(`snapshot corpus is stale; run npm run snapshots:corpus:\n  ${stale.flatMap(driftOf).join('\n  ')}`);
      process.exit(1);
    }
    console.log(`snapshot corpus up to date (${fixtures.length} fixtures)`);
    return;
  }
  // Released fixtures are never rewritten. They drift when the model's sample data changes (a
  // confidence, a name) as well as when a machine does; the shape test tells the two apart.
  const released = stale.filter((v) => committedFiles(v.dir).length > 0);
  if (released.length > 0) {
    console.warn(
      `left as released: ${released.map((v) => v.label).join(', ')} differ from what the machines and samples make now:\n  ` +
        `${released.flatMap(driftOf).join('\n  ')}\n` +
        'If a machine changed its states or context, bump its version (e.g. BATCH_MACHINE_VERSION), register a snapshot ' +
        'migration from the old version (BATCH_SNAPSHOT_MIGRATIONS in app/snapshots.ts), and run this again: the new ' +
        'version gets a new directory. If the change was a mistake, undo it instead.',
    );
  }
  const toWrite = stale.filter((v) => !released.includes(v));
  for (const v of toWrite) {
    for (const file of v.present) rmSync(file, { force: true });
    for (const [file, text] of v.expected) {
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
    }
  }
  console.log(
    toWrite.length === 0
      ? `snapshot corpus: nothing to write (${fixtures.length} fixtures)`
      : `wrote ${toWrite.map((v) => v.label).join(', ')} (${fixtures.length} fixtures in all)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
