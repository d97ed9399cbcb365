import { initialTransition, transition } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchMachine } from '../../machines/batch.ts';
import { eventsAcceptedIn, stateString } from '../../machines/describe.ts';
import { type BatchEvent, WIRE_NAME } from '../../machines/events.ts';
import { createClassWithStudents } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type EntitlementsStub, startEntitlements } from '../support/entitlements.ts';
import { entitlementsChecker } from '../../app/credits.ts';
import {
  type BatchFacts,
  auditsEveryBatchAtTheEnd,
  auditViolations,
  batchInvariants,
  readBatchFacts,
  unchangedViolations,
} from '../support/invariants.ts';
import { type BoundBatch, createBatchDriver, refusalStatus } from './driver.ts';
import {
  BATCH_INPUTS,
  type BatchSnapshot,
  MODEL,
  MODEL_COURSES,
  PATH_DATA,
  type PathData,
  RUNNER_UP_SCORE,
  batchGuardKey,
  batchKey,
  batchSamples,
} from '../../model/fixture.ts';
import { type OracleBatch, expectStep, initialOracle } from './oracle.ts';
import { machineEmitted, outboxProblems } from './outbox-oracle.ts';
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
const BOUND = { limit: 6_000, maxDepth: 8 };

const generated = generatePaths<BatchSnapshot, BatchEvent>(batchMachine, {
  origins: (['REGULAR', 'GUEST'] as const).map((name) => ({ name, start: initialTransition(batchMachine, BATCH_INPUTS[name])[0] })),
  samples: batchSamples,
  key: batchKey,
  simpleKey: batchGuardKey,
  ...BOUND,
});

/**
 * A resume leads back to a vertex reached sooner (not paused), so no shortest path takes it; the
 * first path to each paused vertex is also replayed with the teacher's resume and with the pause's
 * end, each followed by the resumed deadline passing.
 */
function withResumes(paths: Array<ModelPath<BatchSnapshot, BatchEvent>>) {
  const extended = [...paths];
  const seen = new Set<string>();
  for (const path of paths) {
    const k = path.steps.findIndex((st) => st.after.context.pause !== null);
    if (k < 0) continue;
    const pausedAt = path.steps[k]!.after;
    const id = `${path.origin}|${batchKey(pausedAt)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const resume of ['resume', 'pause ends']) {
      const steps = path.steps.slice(0, k + 1);
      for (const label of [resume, 'deadline passes']) {
        const before = steps.at(-1)!.after;
        const sample = batchSamples(before).find((s) => s.label === label)!;
        steps.push({ label, event: sample.event, before, after: transition(batchMachine, before, sample.event)[0] });
      }
      extended.push({ ...path, steps });
    }
  }
  return extended;
}

const PATHS = withResumes(generated.paths);

function describePath(path: ModelPath<BatchSnapshot, BatchEvent>): string {
  const end = path.steps.at(-1)?.after ?? path.start;
  const labels = path.steps.map((s) => s.label);
  return `${path.origin}: ${labels.join(' → ')} ⇒ ${stateString(end.value)}`;
}

const TIMEOUT_MS = 24 * 3_600_000;
const okStatus = (event: BatchEvent) => (event.type === 'PIPELINE_REQUESTED' ? 202 : 200);

describe('batch machine paths replayed against the HTTP API, judged by a hand-written oracle', () => {
  let h: Harness;
  let driver: ReturnType<typeof createBatchDriver>;
  const coverage = new Coverage('batch', batchMachine, Object.keys(WIRE_NAME));
  const refusalsTriedAt = new Set<string>();
  /** Vertex and oracle pairs whose every sample was already judged against the table (the same answer every time). */
  const tableCheckedAt = new Set<string>();
  const unknownOfClass = new Map<string, string>();
  let entitlements: EntitlementsStub | undefined;

  beforeAll(async () => {
    const s = generated.stats;
    console.info(
      `model batch: ${s.shortest} shortest paths over ${s.vertices} vertices, ${s.simple} simple paths over ${s.simpleVertices}; ` +
        `bound: traversal limit ${BOUND.limit}, max depth ${BOUND.maxDepth} (longest ${s.longest} events, ${s.cutByDepth} cut); ` +
        `replaying ${s.executed} paths / ${s.steps} steps after dropping duplicates and prefixes`,
    );
    // A real entitlements service with no credits: free pipelines start, billable ones are denied.
    entitlements = await startEntitlements(0);
    h = await startHarness({ label: 'model_batch', validationTimeoutMs: TIMEOUT_MS, credits: entitlementsChecker(entitlements.url) });
    const teacher = await h.teacher(MODEL.ownerId);
    const classes = await Promise.all(MODEL_COURSES.map((course) => createClassWithStudents(h, teacher, course, 2)));
    driver = createBatchDriver(h, teacher, Object.fromEntries(MODEL_COURSES.map((course, i) => [course, classes[i]!])));
  });
  afterAll(async () => {
    await driver?.close();
    await h?.close();
    await entitlements?.close();
  });

  const facts = (ids: BoundBatch) => readBatchFacts(h, MODEL.ownerId, ids.batchId);

  /** The oracle's view of the batch against what the API shows, and the invariants of tests/support/invariants.ts. */
  function expectAsOracle(f: BatchFacts, oracle: OracleBatch, ids: BoundBatch, data: PathData, why: string) {
    expect(f.batch.state, `${why}: state`).toBe(oracle.state);
    expect(batchInvariants(f), `${why}: invariants`).toEqual([]);
    const real = (m: string) => ids.toReal.get(m)!;
    const unknownId = f.associations.find((a) => a.validation_status === 'no_match')?.student_id;
    // One UNKNOWN student per class, reused by every batch of the class.
    if (unknownId && f.batch.class_id) {
      const first = unknownOfClass.get(f.batch.class_id) ?? unknownId;
      unknownOfClass.set(f.batch.class_id, first);
      expect(unknownId, `${why}: the class's one UNKNOWN student`).toBe(first);
    }
    const shown = Object.fromEntries(f.associations.map((a) => [a.essay_id, a]));
    const expected: Record<string, unknown> = {};
    for (const [essay, a] of Object.entries(oracle.associations)) {
      const isA = essay === 'A';
      const student =
        a!.student === null
          ? null
          : a!.student === 'unknown'
            ? (unknownId ?? 'UNKNOWN')
            : real(a!.student === 'student1' ? MODEL.student1 : MODEL.student0);
      expected[real(isA ? MODEL.essayA : MODEL.essayB)] = {
        validation_status: a!.status,
        validation_method: a!.method,
        validated_by: a!.method === null ? null : a!.method === 'timeout' ? 'SYSTEM_TIMEOUT' : MODEL.ownerId,
        student_id: student,
        suggested_student_id: isA ? real(MODEL.student0) : null,
        confidence_score: isA ? data.confidenceA : null,
        filename: isA ? 'essay-a.docx' : 'essay-b.docx',
        suggestions: isA
          ? [
              [real(MODEL.student0), data.confidenceA],
              [real(MODEL.student1), RUNNER_UP_SCORE],
            ]
          : [],
        decided: a!.method !== null,
        // What the deadline will do, as the domain's 0.7 rule says.
        if_no_decision: a!.status !== 'pending_validation' ? null : isA && data.confidenceA >= 0.7 ? 'keep_suggestion' : 'unknown_student',
      };
    }
    const seen = Object.fromEntries(
      Object.entries(shown).map(([id, a]) => [
        id,
        {
          validation_status: a.validation_status,
          validation_method: a.validation_method,
          validated_by: a.validated_by,
          student_id: a.student_id,
          suggested_student_id: a.suggested_student_id,
          confidence_score: a.confidence_score,
          filename: a.filename,
          suggestions: a.suggestions.map((x) => [x.student_id, x.confidence_score]),
          decided: a.validated_at !== null,
          if_no_decision: (a as { if_no_decision?: string | null }).if_no_decision ?? null,
        },
      ]),
    );
    expect(seen, `${why}: associations`).toEqual(expected);
  }

  /** GET /v1/deadlines's preview of this batch: only while the teacher decides, counting what the deadline will do. */
  async function expectDeadlinePreview(f: BatchFacts, oracle: OracleBatch, data: PathData, why: string) {
    const listed = (await h.service.deadlines(MODEL.ownerId)).filter((d) => d.batch_id === f.batch.batch_id);
    const pending = Object.entries(oracle.associations)
      .filter(([, a]) => a!.status === 'pending_validation')
      .map(([essay]) => essay);
    const keep = pending.filter((essay) => essay === 'A' && data.confidenceA >= 0.7).length;
    const expected =
      oracle.state === 'awaiting_student_validation.awaiting_teacher' && !oracle.paused
        ? [
            {
              due_at: f.batch.validation.due_at,
              pending_associations: pending.length,
              will_keep_suggestion: keep,
              will_link_unknown_student: pending.length - keep,
            },
          ]
        : [];
    const seen = listed.map((d) => ({
      due_at: d.due_at,
      pending_associations: d.pending_associations,
      will_keep_suggestion: d.will_keep_suggestion,
      will_link_unknown_student: d.will_link_unknown_student,
    }));
    expect(seen, `${why}: /v1/deadlines`).toEqual(expected);
    const paused = (await h.service.pausedValidations(MODEL.ownerId)).filter((p) => p.batch_id === f.batch.batch_id);
    expect(paused.length, `${why}: paused in /v1/deadlines`).toBe(oracle.paused ? 1 : 0);
    expect(f.batch.validation.paused !== null, `${why}: the batch view's pause`).toBe(oracle.paused);
  }

  /**
   * At every vertex, every sample: the machine must accept exactly what the table accepts, and land
   * where the table says. The refused ones go to the API once per vertex: 409 (or 400 from
   * validation), and nothing changes.
   */
  async function checkVertex(
    ids: BoundBatch,
    snapshot: BatchSnapshot,
    oracle: OracleBatch,
    data: PathData,
    before: BatchFacts,
  ): Promise<BatchFacts> {
    const samples = batchSamples(snapshot, data);
    const judged = `${batchKey(snapshot)}|${JSON.stringify(oracle)}`;
    for (const sample of tableCheckedAt.has(judged) ? [] : samples) {
      const [next] = transition(batchMachine, snapshot, sample.event);
      const machineSays = next === snapshot ? 'refused' : stateString(next.value);
      expect(machineSays, `the machine vs the oracle table: "${sample.label}" in ${oracle.state} (${oracle.classType})`).toBe(
        expectStep(oracle, sample.label).target,
      );
    }
    tableCheckedAt.add(judged);
    const vertex = batchKey(snapshot);
    if (refusalsTriedAt.has(vertex)) return before;
    refusalsTriedAt.add(vertex);
    const state = oracle.state;
    const accepted = eventsAcceptedIn(snapshot);
    for (const sample of samples) {
      if (expectStep(oracle, sample.label).target !== 'refused') continue;
      const why = `${sample.label} in ${state}`;
      const answer = await driver.send(sample.event, ids);
      const status = refusalStatus(sample.event, ids.classType);
      expect(answer.status, why).toBe(status);
      if (status === 409) {
        expect(answer.body, why).toMatchObject({
          state,
          version: before.batch.version,
          allowed_events: accepted.map((t) => WIRE_NAME[t as BatchEvent['type']]),
        });
        coverage.refused(snapshot, sample.event.type, accepted.includes(sample.event.type));
      } else coverage.rejectedByValidation();
    }
    // One read for all of them: any change by any refusal would still show here.
    const after = await facts(ids);
    expect(unchangedViolations(before, after), `after the refusals in ${state}`).toEqual([]);
    return after;
  }

  for (const [index, path] of PATHS.entries()) {
    const data = PATH_DATA[index % PATH_DATA.length]!;
    it(`replays ${describePath(path)} [${data.name}]`, async () => {
      const origin = path.origin as 'REGULAR' | 'GUEST';
      const ids = await driver.register(origin, data.course, data.expected);
      // The path's labels replayed on the machine with this path's data (the graph used the first data).
      let machine = initialTransition(batchMachine, {
        ...BATCH_INPUTS[origin],
        course_code: data.course,
        expected_essay_count: data.expected,
      })[0];
      let oracle = initialOracle(origin, { A: data.confidenceA, B: null });
      let before = await facts(ids);
      expectAsOracle(before, oracle, ids, data, 'registered');
      coverage.visit(machine);
      before = await checkVertex(ids, machine, oracle, data, before);
      for (const step of path.steps) {
        const why = step.label;
        const sample = batchSamples(machine, data).find((s) => s.label === step.label)!;
        const expected = expectStep(oracle, why);
        expect(expected.target, `the oracle table accepts "${why}" in ${oracle.state}`).not.toBe('refused');
        const [next] = transition(batchMachine, machine, sample.event);
        const answer = await driver.send(sample.event, ids);
        expect(answer.status, `${why}: ${JSON.stringify(answer.body)}`).toBe(okStatus(sample.event));
        const after = await facts(ids);
        expect(after.batch.version, `after ${why}: version`).toBe(before.batch.version + 1);
        expectAsOracle(after, expected.after, ids, data, `after ${why}`);
        await expectDeadlinePreview(after, expected.after, data, `after ${why}`);
        const problems = outboxProblems({
          rows: after.outbox.slice(before.outbox.length),
          emitted: machineEmitted(batchMachine, machine, sample.event),
          expectedTopics: expected.topics,
          oracle: expected.after,
          ids,
          facts: after,
          teacherId: MODEL.ownerId,
        });
        expect(problems, `after ${why}: outbox`).toEqual([]);
        expect(deadlineProblems(before, after, why), `after ${why}: deadline`).toEqual([]);
        coverage.visit(next);
        coverage.take(transitionsTaken(batchMachine, machine, sample.event));
        machine = next;
        oracle = expected.after;
        before = await checkVertex(ids, machine, oracle, data, after);
      }
      expect(await auditViolations(h, ids.batchId), 'the audit replays the path').toEqual([]);
    });
  }

  auditsEveryBatchAtTheEnd(() => h);

  it('covers every state node and transition of the batch machine, and tries every refusable pair', () => {
    console.info(coverage.line());
    expect(coverage.missing(), JSON.stringify(coverage.missing())).toEqual({ states: [], transitions: [], refusals: [] });
  });
});

/** The validation deadline: TIMEOUT_MS after the suggestions, later when extended, gone when settled. */
function deadlineProblems(before: BatchFacts, after: BatchFacts, label: string): string[] {
  const due = after.batch.validation.due_at;
  const lastApplied = after.history.filter((x) => x.outcome === 'applied').at(-1)!;
  if (label === 'suggest authors' && Date.parse(due!) - Date.parse(lastApplied.at!) !== TIMEOUT_MS)
    return [`due_at ${due} is not ${TIMEOUT_MS} ms after ${lastApplied.at}`];
  // The driver asks to extend by (movedDueAt - at): an extension moves the current deadline, not now.
  const extendBy = Date.parse(MODEL.movedDueAt) - Date.parse(MODEL.at);
  if (label === 'extend deadline' && Date.parse(due!) - Date.parse(before.batch.validation.due_at!) !== extendBy) {
    return [`extended due_at ${due} is not ${extendBy} ms after ${before.batch.validation.due_at}`];
  }
  if (label === 'pause until noon') return due === null ? [] : [`paused with a pending timeout at ${due}`];
  if ((label === 'resume' || label === 'pause ends') && due === null) return ['resumed without a deadline'];
  if (
    !['suggest authors', 'extend deadline', 'resume', 'pause ends'].includes(label) &&
    after.batch.state === before.batch.state &&
    due !== before.batch.validation.due_at
  )
    return ['due_at moved'];
  return [];
}
