import { type AnyStateMachine, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import * as associationModule from '../../machines/association.ts';
import * as batchModule from '../../machines/batch.ts';

/**
 * The Stately editor imports `setup({...}).createMachine({...})` but shows an inline function as an
 * unnamed block and loses it on the way back, so the config must stay plain data: implementations
 * are named in setup() and referred to by name.
 */
const machines = [
  { file: 'machines/batch.ts', module: batchModule as Record<string, unknown>, machine: batchModule.batchMachine },
  {
    file: 'machines/association.ts',
    module: associationModule as Record<string, unknown>,
    machine: associationModule.associationMachine,
  },
];

type Config = Record<string, unknown>;

/** Every function in the config, by path. The root `context` factory is the one allowed: XState builds context from input only through it. */
function inlineFunctions(value: unknown, path: string): string[] {
  if (typeof value === 'function') return path === 'context' ? [] : [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => inlineFunctions(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => inlineFunctions(v, path === '' ? k : `${path}.${k}`));
  }
  return [];
}

function statesWithoutDescription(config: Config, path: string): string[] {
  const states = (config.states ?? {}) as Record<string, Config>;
  return Object.entries(states).flatMap(([key, state]) => {
    const here = `${path}.${key}`;
    const missing = typeof state.description === 'string' && state.description.trim() !== '' ? [] : [here];
    return [...missing, ...statesWithoutDescription(state, here)];
  });
}

function listOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function refName(ref: unknown): string | null {
  if (typeof ref === 'string') return ref;
  if (ref !== null && typeof ref === 'object' && typeof (ref as { type?: unknown }).type === 'string') {
    return (ref as { type: string }).type;
  }
  return null;
}

/** Named guards, actions and actors the config uses that setup() does not implement. */
function unimplementedNames(machine: AnyStateMachine): string[] {
  const { guards, actions, actors } = machine.implementations;
  const missing: string[] = [];
  const check = (kind: string, table: Record<string, unknown>, ref: unknown, path: string) => {
    const name = refName(ref);
    if (name !== null && !(name in table)) missing.push(`${path}: ${kind} ${name}`);
  };
  const visitTransition = (t: unknown, path: string) => {
    const transition = typeof t === 'string' ? {} : (t as Config);
    if (transition.guard !== undefined) check('guard', guards, transition.guard, `${path}.guard`);
    for (const a of listOf(transition.actions)) check('action', actions, a, `${path}.actions`);
  };
  const visitState = (state: Config, path: string) => {
    for (const key of ['entry', 'exit'] as const) for (const a of listOf(state[key])) check('action', actions, a, `${path}.${key}`);
    for (const [event, ts] of Object.entries((state.on ?? {}) as Config)) {
      for (const t of listOf(ts)) visitTransition(t, `${path}.on.${event}`);
    }
    for (const t of listOf(state.always)) visitTransition(t, `${path}.always`);
    for (const [delay, ts] of Object.entries((state.after ?? {}) as Config)) {
      for (const t of listOf(ts)) visitTransition(t, `${path}.after.${delay}`);
    }
    for (const invoke of listOf(state.invoke) as Config[]) {
      check('actor', actors, invoke.src, `${path}.invoke.src`);
      for (const t of [...listOf(invoke.onDone), ...listOf(invoke.onError)]) visitTransition(t, `${path}.invoke`);
    }
    for (const [key, child] of Object.entries((state.states ?? {}) as Record<string, Config>)) {
      visitState(child, `${path}.${key}`);
    }
  };
  visitState(machine.config as Config, machine.id);
  return missing;
}

describe.each(machines)('$file for the Stately editor', ({ module, machine }) => {
  it('has no inline function in its config: guards, actions and actors are named in setup()', () => {
    expect(inlineFunctions(machine.config, '')).toEqual([]);
  });

  it('implements in setup() every guard, action and actor its config names', () => {
    expect(unimplementedNames(machine)).toEqual([]);
  });

  it('describes every state', () => {
    expect(statesWithoutDescription(machine.config as Config, machine.id)).toEqual([]);
  });

  it('exports its machine id and a numeric version', () => {
    const idExports = Object.keys(module).filter((k) => k.endsWith('_MACHINE_ID'));
    const versionExports = Object.keys(module).filter((k) => k.endsWith('_MACHINE_VERSION'));
    expect(idExports).toHaveLength(1);
    expect(versionExports).toHaveLength(1);
    expect(module[idExports[0]!]).toBe(machine.id);
    expect(machine.config.id).toBe(machine.id);
    expect(Number.isInteger(module[versionExports[0]!])).toBe(true);
    expect(module[versionExports[0]!]).toBeGreaterThan(0);
  });
});

describe('the Stately checks', () => {
  const careless = createMachine({
    id: 'careless',
    initial: 'a',
    states: {
      a: {
        description: 'Has an inline guard and an inline action.',
        on: { GO: { guard: () => true, actions: () => {}, target: 'b' }, SKIP: { guard: 'unknownGuard', target: 'b' } },
      },
      b: { on: { BACK: { guard: 'ready', target: 'a' } } },
    },
  }).provide({ guards: { ready: () => true } });

  it('catch inline functions, names missing from setup() and states without a description', () => {
    expect(inlineFunctions(careless.config, '')).toEqual(['states.a.on.GO.guard', 'states.a.on.GO.actions']);
    expect(unimplementedNames(careless)).toEqual(['careless.a.on.SKIP.guard: guard unknownGuard']);
    expect(statesWithoutDescription(careless.config as Config, 'careless')).toEqual(['careless.b']);
  });

  it('allow a context factory, the only way XState builds context from input', () => {
    const machine = createMachine({ id: 'm', context: () => ({ n: 1 }), initial: 'a', states: { a: { description: 'A.' } } });
    expect(inlineFunctions(machine.config, '')).toEqual([]);
  });
});
