import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * What a persisted snapshot depends on: the machine's state names and the key paths of its
 * context. A released version keeps both forever; changing either needs a new machine version
 * and a migration from the old one.
 */
export interface MachineShape {
  machine_id: string;
  machine_version: number;
  states: string[];
  context_keys: string[];
}

export const REPO_DIR = fileURLToPath(new URL('../', import.meta.url));
export const SHAPES_DIR = join(REPO_DIR, 'tests/fixtures/machine-shapes');

export const shapeFile = (machineId: string, version: number) => join(SHAPES_DIR, `${machineId}.v${version}.json`);

/** Every state node as a dotted path, parents included. */
export function stateNames(machine: AnyStateMachine): string[] {
  const names: string[] = [];
  const walk = (node: AnyStateNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.states)) {
      const name = prefix ? `${prefix}.${key}` : key;
      names.push(name);
      walk(child, name);
    }
  };
  walk(machine.root, '');
  return names.sort();
}

/** Record maps keyed by ids: their keys are data, not shape, so they collapse to `*`. */
const ID_KEYED = new Set(['associations']);

/** Key paths of a context value: `deadline.due_at`, `essays[].essay_id`, `associations.*.student_id`. */
export function contextKeys(values: unknown[]): string[] {
  const keys = new Set<string>();
  const walk = (value: unknown, path: string, idKeyed: boolean) => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, `${path}[]`, false);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value)) {
      const name = idKeyed ? '*' : key;
      const full = path ? `${path}.${name}` : name;
      keys.add(full);
      walk(child, full, !idKeyed && ID_KEYED.has(key));
    }
  };
  for (const v of values) walk(v, '', false);
  return [...keys].sort();
}

export function shapeOf(machine: AnyStateMachine, version: number, contexts: unknown[]): MachineShape {
  return { machine_id: machine.id, machine_version: version, states: stateNames(machine), context_keys: contextKeys(contexts) };
}

export function committedShape(machineId: string, version: number): MachineShape | null {
  const file = shapeFile(machineId, version);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as MachineShape) : null;
}

/** Versions that have a committed shape file, oldest first. */
export function shapeVersions(machineId: string): number[] {
  return committedFiles(SHAPES_DIR)
    .map((f) => new RegExp(`^${machineId}\\.v(\\d+)\\.json$`).exec(f.split('/').at(-1) ?? '')?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Files under `dir` that are in the last commit (HEAD): released, so never rewritten. */
export function committedFiles(dir: string): string[] {
  const out = execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD', '--', relative(REPO_DIR, dir) || '.'], {
    cwd: REPO_DIR,
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((f) => join(REPO_DIR, f));
}
