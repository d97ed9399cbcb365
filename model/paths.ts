import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type EventObject,
  createActor,
  transition,
} from 'xstate';
import { getShortestPaths, getSimplePaths, getStateNodes } from 'xstate/graph';
import { stateString } from '../machines/describe.ts';

/**
 * Path generation and coverage for model-based tests: xstate/graph walks a machine over concrete
 * event samples, and the tests replay each path against the real system. Coverage is counted from
 * the steps the real system confirmed, so it drops when a path stops reaching what it should.
 */

export interface Sample<E> {
  label: string;
  event: E;
}

export interface ModelStep<S, E> {
  label: string;
  event: E;
  before: S;
  after: S;
}

export interface ModelPath<S, E> {
  origin: string;
  start: S;
  steps: Array<ModelStep<S, E>>;
}

export interface PathBound {
  /** getAdjacencyMap's `limit`: the traversal throws past this many expansions instead of running away. */
  limit: number;
  /** Simple paths longer than this many events are dropped (and counted). */
  maxDepth: number;
}

export interface GenerateOptions<S, E> extends PathBound {
  origins: Array<{ name: string; start: S }>;
  /** Concrete events to try in a state; a sample may read the state (a timer carries its deadline version). */
  samples: (snapshot: S) => Array<Sample<E>>;
  /** The vertex of the graph for shortest paths: state value plus the parts of context that matter. */
  key: (snapshot: S) => string;
  /** A coarser vertex for simple paths, whose number grows with every independent edge. */
  simpleKey?: (snapshot: S) => string;
}

export interface GeneratedPaths<S, E> {
  paths: Array<ModelPath<S, E>>;
  stats: {
    vertices: number;
    simpleVertices: number;
    shortest: number;
    simple: number;
    cutByDepth: number;
    longest: number;
    executed: number;
    steps: number;
  };
}

type GraphPath<S, E> = { steps: Array<{ state: S; event: E }> };

/**
 * The graph keeps one representative snapshot per vertex, so the snapshots on its paths need not
 * be the ones that path's events produce. Replay the path's samples (by label) from its start to get
 * the real snapshots, and check each lands on the vertex the graph said: if not, the key left out
 * context that matters.
 */
function replay<S extends AnyMachineSnapshot, E extends EventObject>(
  machine: AnyStateMachine,
  options: Pick<GenerateOptions<S, E>, 'samples'>,
  key: (snapshot: S) => string,
  origin: string,
  path: GraphPath<S, E>,
): ModelPath<S, E> {
  // xstate/graph starts every path with an `xstate.init` step holding the start state.
  const [first, ...rest] = path.steps;
  const start = first!.state;
  const steps: Array<ModelStep<S, E>> = [];
  let before = start;
  let graphBefore = start;
  for (const step of rest) {
    const json = JSON.stringify(step.event);
    const label = options.samples(graphBefore).find((s) => JSON.stringify(s.event) === json)?.label;
    const sample = options.samples(before).find((s) => s.label === label);
    if (!sample) throw new Error(`${origin}: no sample ${label ?? json} in ${stateString(before.value)}`);
    const [after] = transition(machine, before, sample.event) as unknown as [S];
    if (after === before || key(after) !== key(step.state)) {
      throw new Error(`${origin}: "${label}" reached ${key(after)}, the graph expected ${key(step.state)}`);
    }
    steps.push({ label: sample.label, event: sample.event, before, after });
    before = after;
    graphBefore = step.state;
  }
  return { origin, start, steps };
}

const eventsOf = (path: ModelPath<unknown, unknown>) => path.steps.map((s) => JSON.stringify(s.event));

function traversal<S, E>(options: Pick<GenerateOptions<S, E>, 'samples' | 'limit'>, start: S, key: (snapshot: S) => string) {
  return {
    fromState: start,
    events: (snapshot: S) => options.samples(snapshot).map((s) => s.event),
    serializeState: (snapshot: S) => key(snapshot),
    limit: options.limit,
  } as unknown as Parameters<typeof getShortestPaths>[1];
}

/** One shortest path to every vertex, from every origin, with the snapshots its events produce. */
export function shortestPaths<S extends AnyMachineSnapshot, E extends EventObject>(
  machine: AnyStateMachine,
  options: Omit<GenerateOptions<S, E>, 'maxDepth' | 'simpleKey'>,
): Array<ModelPath<S, E>> {
  return options.origins.flatMap((origin) =>
    (getShortestPaths(machine, traversal(options, origin.start, options.key)) as unknown as Array<GraphPath<S, E>>).map((p) =>
      replay(machine, options, options.key, origin.name, p),
    ),
  );
}

/**
 * Shortest paths to every vertex plus all simple paths (no vertex twice), from every origin.
 * Duplicates, and paths that are a prefix of a longer one, are dropped: replaying the longer path
 * checks every state of the shorter one on the way.
 */
export function generatePaths<S extends AnyMachineSnapshot, E extends EventObject>(
  machine: AnyStateMachine,
  options: GenerateOptions<S, E>,
): GeneratedPaths<S, E> {
  const simpleKey = options.simpleKey ?? options.key;
  const shortest = shortestPaths(machine, options);
  const simple = options.origins.flatMap((origin) =>
    (getSimplePaths(machine, traversal(options, origin.start, simpleKey)) as unknown as Array<GraphPath<S, E>>).map((p) =>
      replay(machine, options, simpleKey, origin.name, p),
    ),
  );
  const stats = {
    vertices: shortest.length,
    simpleVertices: new Set(simple.map((p) => `${p.origin}|${simpleKey(p.steps.at(-1)?.after ?? p.start)}`)).size,
    shortest: shortest.length,
    simple: simple.length,
    cutByDepth: 0,
    longest: 0,
    executed: 0,
    steps: 0,
  };
  const all: Array<ModelPath<S, E>> = [];
  for (const path of [...shortest, ...simple]) {
    stats.longest = Math.max(stats.longest, path.steps.length);
    if (path.steps.length > options.maxDepth) stats.cutByDepth++;
    else all.push(path);
  }
  const sequences = all.map(
    (p) =>
      p.origin +
      eventsOf(p)
        .map((e) => `\n${e}`)
        .join(''),
  );
  const kept = all.filter((_, i) => {
    const mine = sequences[i]!;
    if (sequences.indexOf(mine) !== i) return false;
    return !sequences.some((other) => other !== mine && other.startsWith(`${mine}\n`));
  });
  stats.executed = kept.length;
  stats.steps = kept.reduce((n, p) => n + p.steps.length, 0);
  return { paths: kept, stats };
}

/** The transitions a real interpreter takes for `event`, eventless `always` ones included. */
export function transitionsTaken(machine: AnyStateMachine, before: AnyMachineSnapshot, event: EventObject): AnyTransitionDefinition[] {
  const taken: AnyTransitionDefinition[] = [];
  const actor = createActor(machine, {
    snapshot: machine.getPersistedSnapshot(before),
    inspect: (inspected) => {
      if (inspected.type === '@xstate.microstep') taken.push(...inspected._transitions);
    },
  });
  actor.start();
  actor.send(event);
  actor.stop();
  return taken;
}

const nodeName = (node: AnyStateNode) => node.path.join('.') || `(${node.machine.id})`;

export function describeTransition(t: AnyTransitionDefinition): string {
  const event = t.eventType === '' ? 'always' : t.eventType;
  const branches = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  const branch = branches.length > 1 ? `#${branches.indexOf(t)}` : '';
  const target = t.target?.map(nodeName).join(',') ?? '(stays)';
  return `${nodeName(t.source)} ${event}${branch} → ${target}`;
}

/** Every state node (root, compound and atomic) and every transition, each guarded branch apart. */
export class Coverage {
  readonly nodes: AnyStateNode[];
  readonly transitions: AnyTransitionDefinition[];
  private readonly visited = new Set<AnyStateNode>();
  private readonly taken = new Set<AnyTransitionDefinition>();
  /** `state|EVENT_TYPE` pairs the machine refused and the real system answered as refused. */
  private readonly refusedPairs = new Set<string>();
  private readonly guardRefusals = new Set<string>();
  private refusedTries = 0;
  private validationRejections = 0;

  constructor(
    readonly name: string,
    readonly machine: AnyStateMachine,
    /** Every event type the machine takes anywhere: the universe of refusable pairs. */
    readonly eventTypes: readonly string[],
  ) {
    this.nodes = [machine.root, ...getStateNodes(machine.root)];
    this.transitions = this.nodes.flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])]);
  }

  visit(snapshot: AnyMachineSnapshot): void {
    const value = stateString(snapshot.value);
    for (const node of this.nodes) {
      const path = node.path.join('.');
      if (path === '' || value === path || value.startsWith(`${path}.`)) this.visited.add(node);
    }
  }

  take(transitions: AnyTransitionDefinition[]): void {
    for (const t of transitions) this.taken.add(t);
  }

  /** A refusal the real system confirmed. `guarded`: the state has the event, but no guard let it pass. */
  refused(snapshot: AnyMachineSnapshot, eventType: string, guarded: boolean): void {
    this.refusedTries++;
    const pair = `${stateString(snapshot.value)}|${eventType}`;
    (guarded ? this.guardRefusals : this.refusedPairs).add(pair);
  }

  /** A refusal that the adapter's request validation answered before the machine was asked. */
  rejectedByValidation(): void {
    this.validationRejections++;
  }

  /** (leaf state, event type) pairs the chart has no transition for: each should be tried. */
  refusablePairs(): string[] {
    const pairs: string[] = [];
    for (const leaf of this.nodes.filter((n) => n.type === 'atomic' || n.type === 'final')) {
      const accepted = new Set<string>();
      for (let n: AnyStateNode | undefined = leaf; n; n = n.parent) for (const type of n.transitions.keys()) accepted.add(type);
      for (const type of this.eventTypes) if (!accepted.has(type)) pairs.push(`${leaf.path.join('.')}|${type}`);
    }
    return pairs;
  }

  missing() {
    return {
      states: this.nodes.filter((n) => !this.visited.has(n)).map(nodeName),
      transitions: this.transitions.filter((t) => !this.taken.has(t)).map(describeTransition),
      refusals: this.refusablePairs().filter((p) => !this.refusedPairs.has(p)),
    };
  }

  line(): string {
    const refusable = this.refusablePairs();
    const tried = refusable.filter((p) => this.refusedPairs.has(p)).length;
    return (
      `coverage ${this.name}: states ${this.visited.size}/${this.nodes.length}, ` +
      `transitions ${this.taken.size}/${this.transitions.length}, ` +
      `refused pairs tried ${tried}/${refusable.length} (+ ${this.guardRefusals.size} state×event pairs refused by a guard; ` +
      `${this.refusedTries} refusals sent, ${this.validationRejections} more rejected by request validation first)`
    );
  }
}
