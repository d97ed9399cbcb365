import { describe, expect, it } from 'vitest';
import { createMachine, fromPromise, initialTransition, setup, transition } from 'xstate';
import { associationMachine } from '../../machines/association.ts';
import { batchMachine } from '../../machines/batch.ts';
import type { BatchSnapshot } from '../../app/snapshots.ts';
import type { BatchEvent } from '../../machines/events.ts';
import { initialStep, step } from '../../machines/step.ts';
import {
  ASSOCIATION_ORIGINS,
  BATCH_INPUTS,
  associationInput,
  associationSamples,
  batchGuardKey,
  batchKey,
  batchSamples,
} from '../../model/fixture.ts';
import { generatePaths } from '../../model/paths.ts';

const plain = (snapshot: { value: unknown; context: unknown; status: string }) => ({
  value: snapshot.value,
  context: snapshot.context,
  status: snapshot.status,
});
const actionsOf = (actions: Array<{ type: string; params?: unknown }>) => actions.map((a) => ({ type: a.type, params: a.params }));

describe('step, the shared-scope transition', () => {
  const paths = generatePaths<BatchSnapshot, BatchEvent>(batchMachine, {
    origins: (['REGULAR', 'GUEST'] as const).map((name) => ({ name, start: initialTransition(batchMachine, BATCH_INPUTS[name])[0] })),
    samples: batchSamples,
    key: batchKey,
    simpleKey: batchGuardKey,
    limit: 6_000,
    maxDepth: 8,
  }).paths;

  it("gives the batch machine the snapshot and actions xstate's transition gives, on every generated path and every sample", () => {
    let compared = 0;
    for (const path of paths) {
      for (const { before } of path.steps) {
        for (const { event } of batchSamples(before)) {
          const [expected, expectedActions] = transition(batchMachine, before, event);
          const [actual, actualActions] = step(batchMachine, before, event);
          expect(plain(actual)).toEqual(plain(expected));
          expect(actual === before).toBe(expected === before);
          expect(actionsOf(actualActions as never)).toEqual(actionsOf(expectedActions as never));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it("gives the batch and association machines the initial snapshot xstate's initialTransition gives", () => {
    for (const input of Object.values(BATCH_INPUTS)) {
      expect(plain(initialStep(batchMachine, input)[0])).toEqual(plain(initialTransition(batchMachine, input)[0]));
    }
    for (const origin of ASSOCIATION_ORIGINS) {
      const [start] = initialStep(associationMachine, associationInput(origin));
      expect(plain(start)).toEqual(plain(initialTransition(associationMachine, associationInput(origin))[0]));
      for (const { event } of associationSamples()) {
        expect(plain(step(associationMachine, start, event)[0])).toEqual(plain(transition(associationMachine, start, event)[0]));
      }
    }
  });

  it("leaves no action of one step in the next step's answer", () => {
    const [start] = initialStep(batchMachine, BATCH_INPUTS.REGULAR);
    const provisioned = batchSamples(start).find((s) => s.event.type === 'CONTENT_PROVISIONED' && s.event.provisioned_count > 0)!;
    const [, first] = step(batchMachine, start, provisioned.event);
    expect(first.length).toBeGreaterThan(0);
    const [same, none] = step(batchMachine, start, { type: 'CANCEL', at: provisioned.event.at } as BatchEvent);
    expect(same.value).toBe('cancelled');
    expect(none).toEqual([]);
  });

  it('refuses a machine with child actors, whose children a shared scope would mix up', () => {
    const parent = setup({ actors: { work: fromPromise(async () => 1) } }).createMachine({ initial: 'a', states: { a: {} } });
    expect(() => step(parent, initialTransition(parent)[0], { type: 'GO' })).toThrow(/has child actors/);
    const childless = createMachine({ initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } });
    expect(step(childless, initialTransition(childless)[0], { type: 'GO' })[0].value).toBe('b');
  });
});
