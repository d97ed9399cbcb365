import { type AnyMachineSnapshot, type StateValue, __unsafe_getAllOwnEventDescriptors } from 'xstate';
import { type BatchStatus, BatchStatus as BatchStatusSchema } from './domain.ts';

/** `{ a: 'b' }` → `'a.b'`: the state as one string, for the API and the history. */
export function stateString(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? [];
  if (key === undefined) return '';
  return child === undefined ? key : `${key}.${stateString(child as StateValue)}`;
}

/** The top-level state, which is always one of the original BatchStatus wire values. */
export function batchStatusOf(value: StateValue): BatchStatus {
  return BatchStatusSchema.parse(stateString(value).split('.')[0]);
}

/** Event types the current state has a transition for (guards not evaluated). */
export function eventsAcceptedIn(snapshot: AnyMachineSnapshot): string[] {
  return [...new Set(__unsafe_getAllOwnEventDescriptors(snapshot))].filter((t) => !t.startsWith('xstate.')).sort();
}
