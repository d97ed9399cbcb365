import {
  type AnyStateMachine,
  type EventFromLogic,
  type ExecutableActionsFrom,
  type InputFrom,
  type SnapshotFrom,
  createActor,
} from 'xstate';

/**
 * XState's pure `transition` and `initialTransition`, without their cost per call. Each of those
 * builds a throwaway actor, and the Actor constructor computes the machine's initial snapshot with
 * no input: our context factories then throw a TypeError that xstate catches, so every step paid
 * for an initial state, an exception and a stack trace (a sixth of the CPU of the bench's A point).
 * Here each machine gets one inert actor scope, made once and reused. That is sound for machines
 * that spawn and invoke nothing (ours: the scope's system then never holds a child) because a step
 * is synchronous: the scope's action collector is set for one step and read before the next.
 */

interface InertScope {
  scope: Parameters<AnyStateMachine['transition']>[2];
  collected: unknown[];
}

const scopes = new WeakMap<AnyStateMachine, InertScope>();

function inertScope(machine: AnyStateMachine): InertScope {
  let inert = scopes.get(machine);
  if (inert) return inert;
  if (Object.keys(machine.implementations.actors).length > 0) {
    throw new Error(`machine ${machine.id} has child actors; step it with xstate's transition(), not a shared scope`);
  }
  const self = createActor(machine);
  const collected: unknown[] = [];
  const scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action: unknown) => {
      collected.push(action);
    },
  } as unknown as InertScope['scope'];
  inert = { scope, collected };
  scopes.set(machine, inert);
  return inert;
}

/** The next snapshot and the actions to execute, as xstate's `transition(machine, snapshot, event)`. */
export function step<M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: EventFromLogic<M>,
): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]] {
  const { scope, collected } = inertScope(machine);
  collected.length = 0;
  const next = machine.transition(snapshot, event, scope) as SnapshotFrom<M>;
  return [next, collected.splice(0) as ExecutableActionsFrom<M>[]];
}

/** The initial snapshot and its actions, as xstate's `initialTransition(machine, input)`. */
export function initialStep<M extends AnyStateMachine>(machine: M, input: InputFrom<M>): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]] {
  const { scope, collected } = inertScope(machine);
  collected.length = 0;
  const first = machine.getInitialSnapshot(scope, input) as SnapshotFrom<M>;
  return [first, collected.splice(0) as ExecutableActionsFrom<M>[]];
}
