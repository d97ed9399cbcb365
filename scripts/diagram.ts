import type { AnyStateMachine, AnyStateNode } from 'xstate';

// The graph walk and its two renderings (Mermaid, JSON) share one edge list. The HTML pages are
// rendered from the JSON by server/visualization-pages.ts when they are asked for.

/** One machine to draw: `name` is the file stem under visualizations/. */
export interface Chart {
  name: string;
  source: string;
  machine: AnyStateMachine;
  version: number;
}

export interface DigraphNode {
  id: string;
  key: string;
  parent: string | null;
  type: AnyStateNode['type'];
  description: string | null;
  initial: string | null;
}

export interface DigraphEdge {
  source: string;
  /** null for a targetless transition: it runs its actions and stays, without exit or entry. */
  target: string | null;
  /** null for an eventless (`always`) transition. */
  event: string | null;
  guard: string | null;
  actions: string[];
  description: string | null;
  reenter: boolean;
}

export interface Digraph {
  id: string;
  version: number;
  source: string;
  description: string | null;
  initial: string | null;
  nodes: DigraphNode[];
  edges: DigraphEdge[];
}

function* walk(node: AnyStateNode): Generator<AnyStateNode> {
  yield node;
  for (const child of Object.values(node.states)) yield* walk(child);
}

function transitionsOf(node: AnyStateNode) {
  const found: Array<{ event: string | null; transition: (typeof node.always & {})[number] }> = [];
  for (const [event, list] of node.transitions) for (const transition of list) found.push({ event, transition });
  for (const transition of node.always ?? []) found.push({ event: null, transition });
  return found;
}

/**
 * The name a reader should see for a guard or an action. Higher-order guards (`and`, `or`, `not`)
 * are functions that carry their operands in `guards`, so they are spelled out; a bare inline
 * function has no name worth showing, which is also why tests/unit/stately.test.ts forbids them.
 */
export function implementationName(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'function') {
    const operands = (ref as { guards?: unknown }).guards;
    if (Array.isArray(operands)) return `${ref.name}(${operands.map(implementationName).join(', ')})`;
    const type = (ref as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    return ref.name || 'inline';
  }
  if (ref !== null && typeof ref === 'object' && typeof (ref as { type?: unknown }).type === 'string') {
    return (ref as { type: string }).type;
  }
  return 'inline';
}

function initialOf(node: AnyStateNode): readonly AnyStateNode[] {
  return node.type === 'compound' ? (node.initial?.target ?? []) : [];
}

export function toDigraph(chart: Chart): Digraph {
  const root = chart.machine.root;
  const nodes: DigraphNode[] = [];
  const edges: DigraphEdge[] = [];
  for (const node of walk(root)) {
    nodes.push({
      id: node.id,
      key: node.key,
      parent: node.parent?.id ?? null,
      type: node.type,
      description: node.description ?? null,
      initial: initialOf(node)[0]?.id ?? null,
    });
    for (const { event, transition } of transitionsOf(node)) {
      const base = {
        source: node.id,
        event,
        guard: transition.guard === undefined ? null : implementationName(transition.guard),
        actions: transition.actions.map(implementationName),
        description: transition.description ?? null,
        reenter: transition.reenter,
      };
      const targets = transition.target ?? [];
      if (targets.length === 0) edges.push({ ...base, target: null });
      for (const target of targets) edges.push({ ...base, target: target.id });
    }
  }
  return {
    id: chart.machine.id,
    version: chart.version,
    source: chart.source,
    description: root.description ?? null,
    initial: initialOf(root)[0]?.id ?? null,
    nodes,
    edges,
  };
}

/**
 * Mermaid state ids are global to a diagram, so a nested state is named by its whole path; the
 * label still shows its own key. Keys Mermaid would misread are folded to `_`, and a fold that
 * makes two states collide is an error rather than a wrong picture.
 */
function mermaidIds(root: AnyStateNode): Map<AnyStateNode, string> {
  const ids = new Map<AnyStateNode, string>();
  const taken = new Map<string, string>();
  for (const node of walk(root)) {
    const id = (node === root ? root.id : node.path.join('__')).replace(/[^A-Za-z0-9_]/g, '_');
    const clash = taken.get(id);
    if (clash !== undefined) throw new Error(`States ${clash} and ${node.id} both become Mermaid id ${id}.`);
    taken.set(id, node.id);
    ids.set(node, id);
  }
  return ids;
}

function edgeLabel(event: string | null, guard: string | null): string {
  const name = event ?? 'always';
  return guard === null ? name : `${name} [${guard}]`;
}

/**
 * An edge is written inside the block of the lowest state that contains both of its ends: Mermaid
 * files a state under the block where it first sees it, so an edge written too early or too deep
 * would create a stray copy of its target there.
 */
function ownerOf(source: AnyStateNode, target: AnyStateNode): AnyStateNode {
  let owner = source.parent ?? source;
  while (owner.parent && !isWithin(target, owner)) owner = owner.parent;
  return owner;
}

function isWithin(node: AnyStateNode, ancestor: AnyStateNode): boolean {
  for (let n: AnyStateNode | undefined = node.parent; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

export function toMermaid(chart: Chart): string {
  const root = chart.machine.root;
  const ids = mermaidIds(root);
  const id = (node: AnyStateNode) => ids.get(node)!;
  // Mermaid draws only one of several arrows between the same two states (all but one self-loop
  // vanish), so transitions sharing both ends become one arrow with a label line for each.
  const arrows = new Map<string, { owner: AnyStateNode | 'outside'; from: string; to: string; labels: string[] }>();
  for (const node of walk(root)) {
    for (const { event, transition } of transitionsOf(node)) {
      const guard = transition.guard === undefined ? null : implementationName(transition.guard);
      const targets = transition.target?.length ? transition.target : [node];
      for (const target of targets) {
        const owner = node === root ? 'outside' : ownerOf(node, target);
        const key = `${id(node)} ${id(target)}`;
        const arrow = arrows.get(key) ?? { owner, from: id(node), to: id(target), labels: [] };
        arrow.labels.push(edgeLabel(event, guard));
        arrows.set(key, arrow);
      }
    }
  }
  const edgesByOwner = new Map<AnyStateNode | 'outside', string[]>();
  for (const { owner, from, to, labels } of arrows.values()) {
    edgesByOwner.set(owner, [...(edgesByOwner.get(owner) ?? []), `${from} --> ${to} : ${labels.join('<br/>')}`]);
  }

  const lines = [`%% Generated from ${chart.source} by \`npm run visualize\`; do not edit.`, 'stateDiagram-v2'];
  const body = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states);
    for (const initial of initialOf(node)) lines.push(`${indent}[*] --> ${id(initial)}`);
    children.forEach((child, index) => {
      if (node.type === 'parallel' && index > 0) lines.push(`${indent}--`);
      declare(child, indent);
    });
    for (const child of children) if (child.type === 'final') lines.push(`${indent}${id(child)} --> [*]`);
    for (const line of edgesByOwner.get(node) ?? []) lines.push(`${indent}${line}`);
  };
  const declare = (node: AnyStateNode, indent: string) => {
    const label = node.type === 'history' ? `${node.key} (history)` : node.key;
    if (label !== id(node)) lines.push(`${indent}state "${label}" as ${id(node)}`);
    else if (Object.keys(node.states).length === 0) lines.push(`${indent}${id(node)}`);
    if (Object.keys(node.states).length > 0) {
      lines.push(`${indent}state ${id(node)} {`);
      body(node, `${indent}  `);
      lines.push(`${indent}}`);
    }
  };
  // A machine with transitions of its own is drawn as one enclosing state, so they have a source.
  if (transitionsOf(root).length > 0) {
    lines.push(`  [*] --> ${id(root)}`);
    declare(root, '  ');
    for (const line of edgesByOwner.get('outside') ?? []) lines.push(`  ${line}`);
  } else {
    body(root, '  ');
  }
  return `${lines.join('\n')}\n`;
}

/** Every file of visualizations/, by name; the same input always gives the same bytes. */
export function renderVisualizations(charts: Chart[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const chart of charts) {
    files.set(`${chart.name}.mmd`, toMermaid(chart));
    files.set(`${chart.name}.json`, `${JSON.stringify(toDigraph(chart), null, 2)}\n`);
  }
  return files;
}
