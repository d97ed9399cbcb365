import { readFile, readdir } from 'node:fs/promises';
import { type AnyStateMachine, type AnyStateNode, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { charts } from '../../scripts/charts.ts';
import { type Digraph, renderVisualizations, toMermaid } from '../../scripts/diagram.ts';

const VISUALIZATIONS = new URL('../../visualizations/', import.meta.url);

interface ExpectedTransition {
  source: AnyStateNode;
  target: AnyStateNode | null;
  event: string | null;
  guard: string | null;
  actions: string[];
}

// The expectations come from walking the machine here, not from the generator, so a generator
// that drops or invents a state or a transition cannot agree with itself.
function statesOf(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(statesOf)];
}

function nameOf(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  return (ref as { type: string }).type;
}

function transitionsOf(machine: AnyStateMachine): ExpectedTransition[] {
  const found: ExpectedTransition[] = [];
  for (const source of statesOf(machine.root)) {
    const all = [
      ...[...source.transitions.entries()].flatMap(([event, list]) => list.map((t) => ({ event, t }))),
      ...(source.always ?? []).map((t) => ({ event: null, t })),
    ];
    for (const { event, t } of all) {
      const guard = t.guard === undefined ? null : nameOf(t.guard);
      const actions = t.actions.map(nameOf);
      const targets: Array<AnyStateNode | null> = t.target?.length ? [...t.target] : [null];
      for (const target of targets) found.push({ source, target, event, guard, actions });
    }
  }
  return found;
}

/** The Mermaid id of a state: its path joined by `__`, the root by the machine id. */
function mermaidId(node: AnyStateNode): string {
  return node.parent ? node.path.join('__') : node.machine.id;
}

/** Reads a stateDiagram back: where each state is declared, the arrows and their label lines. */
function parseMermaid(text: string) {
  const declaredIn = new Map<string, string | null>();
  const labelOf = new Map<string, string>();
  const arrows = new Map<string, string[]>();
  const initials = new Map<string | null, string>();
  const finals = new Set<string>();
  const stack: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const block = stack.at(-1) ?? null;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^state "([^"]+)" as (\w+)$/))) {
      declaredIn.set(m[2]!, block);
      labelOf.set(m[2]!, m[1]!);
    } else if ((m = line.match(/^state (\w+) \{$/))) {
      if (!declaredIn.has(m[1]!)) declaredIn.set(m[1]!, block);
      stack.push(m[1]!);
    } else if (line === '}') {
      stack.pop();
    } else if ((m = line.match(/^\[\*\] --> (\w+)$/))) {
      initials.set(block, m[1]!);
    } else if ((m = line.match(/^(\w+) --> \[\*\]$/))) {
      finals.add(m[1]!);
    } else if ((m = line.match(/^(\w+) --> (\w+) : (.+)$/))) {
      arrows.set(`${m[1]} ${m[2]}`, [...(arrows.get(`${m[1]} ${m[2]}`) ?? []), ...m[3]!.split('<br/>')]);
    } else if ((m = line.match(/^(\w+)$/))) {
      declaredIn.set(m[1]!, block);
    }
  }
  return { declaredIn, labelOf, arrows, initials, finals };
}

describe('the committed diagrams', () => {
  it('match a fresh generation from the machines (run `npm run visualize` after changing a machine)', async () => {
    const fresh = renderVisualizations(charts);
    const onDisk = (await readdir(VISUALIZATIONS)).filter((f) => /\.(mmd|json|html)$/.test(f)).sort();
    expect(onDisk).toEqual([...fresh.keys()].sort());
    for (const [name, content] of fresh) {
      expect(await readFile(new URL(name, VISUALIZATIONS), 'utf8'), `visualizations/${name} is stale`).toBe(content);
    }
  });

  it('come out byte-identical from two generations', () => {
    expect([...renderVisualizations(charts)]).toEqual([...renderVisualizations(charts)]);
  });
});

describe.each(charts)('the $name diagram', (chart) => {
  const states = statesOf(chart.machine.root);
  const transitions = transitionsOf(chart.machine);

  it('declares every state in Mermaid under its key, nested inside its parent state', async () => {
    const mermaid = parseMermaid(await readFile(new URL(`${chart.name}.mmd`, VISUALIZATIONS), 'utf8'));
    expect(states.length).toBeGreaterThan(1);
    for (const state of states.filter((s) => s.parent)) {
      const id = mermaidId(state);
      expect(mermaid.declaredIn.has(id), `state ${state.id} is missing`).toBe(true);
      const parent = state.parent!.parent ? mermaidId(state.parent!) : null;
      expect(mermaid.declaredIn.get(id), `state ${state.id} is in the wrong block`).toBe(parent);
      expect(mermaid.labelOf.get(id) ?? id).toBe(state.key);
    }
  });

  it('marks every initial state and every final state in Mermaid', async () => {
    const mermaid = parseMermaid(await readFile(new URL(`${chart.name}.mmd`, VISUALIZATIONS), 'utf8'));
    for (const state of states.filter((s) => s.type === 'compound')) {
      const block = state.parent ? mermaidId(state) : null;
      expect(mermaid.initials.get(block)).toBe(mermaidId(state.initial.target[0]!));
    }
    const finals = states.filter((s) => s.type === 'final').map(mermaidId);
    expect([...mermaid.finals].sort()).toEqual(finals.sort());
  });

  it('draws every transition in Mermaid, labelled with its event and guard, and no other', async () => {
    const mermaid = parseMermaid(await readFile(new URL(`${chart.name}.mmd`, VISUALIZATIONS), 'utf8'));
    const expected = new Map<string, string[]>();
    for (const t of transitions) {
      const key = `${mermaidId(t.source)} ${mermaidId(t.target ?? t.source)}`;
      const label = `${t.event ?? 'always'}${t.guard === null ? '' : ` [${t.guard}]`}`;
      expected.set(key, [...(expected.get(key) ?? []), label]);
    }
    const sorted = (m: Map<string, string[]>) => [...m].map(([k, v]) => [k, [...v].sort()]).sort();
    expect(sorted(mermaid.arrows)).toEqual(sorted(expected));
  });

  it('lists every state with its type and description in the JSON graph', async () => {
    const graph = JSON.parse(await readFile(new URL(`${chart.name}.json`, VISUALIZATIONS), 'utf8')) as Digraph;
    expect(graph.id).toBe(chart.machine.id);
    expect(graph.version).toBe(chart.version);
    const nodes = graph.nodes.map((n) => [n.id, n.type, n.description]).sort();
    expect(nodes).toEqual(states.map((s) => [s.id, s.type, s.description ?? null]).sort());
  });

  it('lists every transition with its event, guard, target and actions in the JSON graph', async () => {
    const graph = JSON.parse(await readFile(new URL(`${chart.name}.json`, VISUALIZATIONS), 'utf8')) as Digraph;
    const edges = graph.edges.map((e) => JSON.stringify([e.source, e.target, e.event, e.guard, e.actions])).sort();
    const wanted = transitions.map((t) => JSON.stringify([t.source.id, t.target?.id ?? null, t.event, t.guard, t.actions])).sort();
    expect(edges).toEqual(wanted);
  });
});

describe('the Mermaid generator', () => {
  const chartOf = (machine: AnyStateMachine) => ({ name: 'probe', source: 'probe.ts', machine, version: 1 });

  it('encloses a machine that has transitions of its own, so they have a state to leave from', () => {
    const machine = createMachine({
      id: 'probe',
      initial: 'idle',
      on: { RESET: '.idle' },
      states: { idle: { on: { GO: 'busy' } }, busy: {} },
    });
    const mermaid = parseMermaid(toMermaid(chartOf(machine)));
    expect(mermaid.declaredIn.get('idle')).toBe('probe');
    expect(mermaid.initials.get(null)).toBe('probe');
    expect(mermaid.arrows.get('probe idle')).toEqual(['RESET']);
  });

  it('separates the regions of a parallel state', () => {
    const machine = createMachine({
      id: 'probe',
      type: 'parallel',
      states: { left: { initial: 'a', states: { a: {} } }, right: { initial: 'b', states: { b: {} } } },
    });
    const lines = toMermaid(chartOf(machine))
      .split('\n')
      .map((l) => l.trim());
    expect(lines.indexOf('--')).toBeGreaterThan(lines.indexOf('state left {'));
    expect(lines.indexOf('--')).toBeLessThan(lines.indexOf('state right {'));
  });

  it('refuses two states whose keys fold to the same Mermaid id', () => {
    const machine = createMachine({ id: 'probe', initial: 'a-b', states: { 'a-b': {}, a_b: {} } });
    expect(() => toMermaid(chartOf(machine))).toThrow(/both become Mermaid id a_b/);
  });
});
