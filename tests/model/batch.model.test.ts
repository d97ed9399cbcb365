import { initialTransition, transition } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchMachine } from '../../machines/batch.ts';
import { eventsAcceptedIn, stateString } from '../../machines/describe.ts';
import { type BatchEvent, WIRE_NAME } from '../../machines/events.ts';
import { createClassWithStudents } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type BoundBatch, createBatchDriver, expectedAssociations, refusalStatus } from './driver.ts';
import { BATCH_INPUTS, type BatchSnapshot, MODEL, batchGuardKey, batchKey, batchSamples } from '../../model/fixture.ts';
import { Coverage, type ModelPath, generatePaths, transitionsTaken } from '../../model/paths.ts';

/**
 * The bound of the search. The context is unbounded (deadline versions, times), so vertices are
 * abstractions: batchKey() for shortest paths (the state, the context guards read, and whether the
 * deadline moved), batchGuardKey() for simple paths (without the deadline move, which would
 * multiply the simple paths by every place an extension can go). Both graphs are finite (about 30
 * and 22 vertices). `limit` caps the traversal's expansions, so an abstraction that stops being
 * finite fails loudly instead of running away; simple paths longer than `maxDepth` events are
 * dropped and counted.
 */
const BOUND = { limit: 5_000, maxDepth: 8 };

const generated = generatePaths<BatchSnapshot, BatchEvent>(batchMachine, {
  origins: (['REGULAR', 'GUEST'] as const).map((name) => ({ name, start: initialTransition(batchMachine, BATCH_INPUTS[name])[0] })),
  samples: batchSamples,
  key: batchKey,
  simpleKey: batchGuardKey,
  ...BOUND,
});

function describePath(path: ModelPath<BatchSnapshot, BatchEvent>): string {
  const end = path.steps.at(-1)?.after ?? path.start;
  const labels = path.steps.map((s) => s.label);
  return `${path.origin}: ${labels.join(' → ')} ⇒ ${stateString(end.value)}`;
}

const okStatus = (event: BatchEvent) => (event.type === 'PIPELINE_REQUESTED' ? 202 : 200);

describe('batch machine paths replayed against the HTTP API', () => {
  let h: Harness;
  let driver: ReturnType<typeof createBatchDriver>;
  const coverage = new Coverage('batch', batchMachine, Object.keys(WIRE_NAME));
  const refusalsTriedAt = new Set<string>();

  beforeAll(async () => {
    const s = generated.stats;
    console.info(
      `model batch: ${s.shortest} shortest paths over ${s.vertices} vertices, ${s.simple} simple paths over ${s.simpleVertices}; ` +
        `bound: traversal limit ${BOUND.limit}, max depth ${BOUND.maxDepth} (longest ${s.longest} events, ${s.cutByDepth} cut); ` +
        `replaying ${s.executed} paths / ${s.steps} steps after dropping duplicates and prefixes`,
    );
    h = await startHarness({ label: 'model_batch', validationTimeoutMs: 24 * 3_600_000 });
    const teacher = await h.teacher(MODEL.ownerId);
    driver = createBatchDriver(h, teacher, await createClassWithStudents(h, teacher, 'ENG5', 2));
  });
  afterAll(async () => {
    await driver?.close();
    await h?.close();
  });

  async function expectShown(ids: BoundBatch, snapshot: BatchSnapshot, version: number, why: string) {
    const expected = { state: stateString(snapshot.value), version, associations: expectedAssociations(snapshot.context) };
    expect(await driver.observe(ids), why).toEqual(expected);
  }

  /** Every sample the machine refuses here, once per vertex: 409 (or 400 from validation), version unchanged. */
  async function tryRefusals(ids: BoundBatch, snapshot: BatchSnapshot, version: number) {
    const vertex = batchKey(snapshot);
    if (refusalsTriedAt.has(vertex)) return;
    refusalsTriedAt.add(vertex);
    const state = stateString(snapshot.value);
    const accepted = eventsAcceptedIn(snapshot);
    for (const sample of batchSamples(snapshot)) {
      if (transition(batchMachine, snapshot, sample.event)[0] !== snapshot) continue;
      const why = `${sample.label} in ${state}`;
      const answer = await driver.send(sample.event, ids);
      const status = refusalStatus(sample.event, ids.classType);
      expect(answer.status, why).toBe(status);
      if (status === 409) {
        expect(answer.body, why).toMatchObject({ state, version, allowed_events: accepted.map((t) => WIRE_NAME[t as BatchEvent['type']]) });
      }
      const seen = await driver.observeBatch(ids);
      expect({ state: seen.state, version: seen.version }, `after refusing ${why}`).toEqual({ state, version });
      if (status === 409) coverage.refused(snapshot, sample.event.type, accepted.includes(sample.event.type));
      else coverage.rejectedByValidation();
    }
  }

  for (const path of generated.paths) {
    it(`replays ${describePath(path)}`, async () => {
      const ids = await driver.register(path.origin as 'REGULAR' | 'GUEST');
      let version = 1;
      await expectShown(ids, path.start, version, 'registered');
      coverage.visit(path.start);
      await tryRefusals(ids, path.start, version);
      for (const step of path.steps) {
        const why = step.label;
        const answer = await driver.send(step.event, ids);
        expect(answer.status, `${why}: ${JSON.stringify(answer.body)}`).toBe(okStatus(step.event));
        version++;
        await expectShown(ids, step.after, version, `after ${why}`);
        coverage.visit(step.after);
        coverage.take(transitionsTaken(batchMachine, step.before, step.event));
        await tryRefusals(ids, step.after, version);
      }
    });
  }

  it('covers every state node and transition of the batch machine, and tries every refusable pair', () => {
    console.info(coverage.line());
    expect(coverage.missing()).toEqual({ states: [], transitions: [], refusals: [] });
  });
});
