import { type SnapshotFrom, initialTransition, transition } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssociationEvent, associationMachine } from '../../machines/association.ts';
import { batchMachine } from '../../machines/batch.ts';
import { eventsAcceptedIn, stateString } from '../../machines/describe.ts';
import type { BatchEvent } from '../../machines/events.ts';
import { createClassWithStudents } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { auditViolations, batchInvariants, auditsEveryBatchAtTheEnd, readBatchFacts } from '../support/invariants.ts';
import { type AssociationView, createBatchDriver } from './driver.ts';
import {
  ASSOCIATION_ORIGINS,
  type AssociationOrigin,
  BATCH_INPUTS,
  type BatchSnapshot,
  MODEL,
  associationInput,
  associationKey,
  associationSamples,
  batchSamples,
} from '../../model/fixture.ts';
import { Coverage, type ModelPath, generatePaths, transitionsTaken } from '../../model/paths.ts';

type AssociationSnapshot = SnapshotFrom<typeof associationMachine>;

/**
 * The association machine runs inside the batch: a teacher decision or the deadline steps it. So
 * each association path is replayed through a REGULAR batch of two essays: A is the association
 * under test (one origin per kind of suggestion), B is a companion with a confident suggestion that
 * stays pending, so the batch keeps waiting and its deadline stays open. What the association did is
 * read back from GET /v1/batches/:id/student-associations after every step.
 *
 * The bound: a vertex is the state plus the student and method it settled on; the graph has
 * 5 vertices per origin, and its only cycles (a teacher's decision reopened) lead back to the
 * suggested vertex, so `limit` and `maxDepth` never bind.
 */
const BOUND = { limit: 1_000, maxDepth: 4 };
const generated = generatePaths<AssociationSnapshot, AssociationEvent>(associationMachine, {
  origins: ASSOCIATION_ORIGINS.map((name) => ({ name, start: initialTransition(associationMachine, associationInput(name))[0] })),
  samples: associationSamples,
  key: associationKey,
  ...BOUND,
});

/**
 * A reopened decision leads back to the suggested vertex, which no simple or shortest path visits
 * twice; so every path through a teacher's decision taken while the batch waits (before any
 * correction, which comes after validation) is also replayed up to that decision with the
 * reopening, and then the deadline deciding what was reopened, appended.
 */
function withReopenings(paths: Array<ModelPath<AssociationSnapshot, AssociationEvent>>) {
  const sample = (label: string) => associationSamples().find((s) => s.label === label)!;
  const extended = [...paths];
  const seen = new Set<string>();
  for (const path of paths) {
    const firstCorrection = path.steps.findIndex((st) => st.event.type === 'CORRECT');
    const waiting = firstCorrection < 0 ? path.steps : path.steps.slice(0, firstCorrection);
    for (let k = waiting.length; k > 0; k--) {
      if (waiting[k - 1]!.after.context.validation_method !== 'human') continue;
      const steps = waiting.slice(0, k);
      const id = `${path.origin}|${steps.map((st) => st.label).join('>')}`;
      if (seen.has(id)) break;
      seen.add(id);
      for (const label of ['reopen', 'deadline passes']) {
        const before = steps.at(-1)!.after;
        const { event } = sample(label);
        steps.push({ label, event, before, after: transition(associationMachine, before, event)[0] });
      }
      extended.push({ ...path, steps });
      break;
    }
  }
  return extended;
}

/**
 * A correction leads to a vertex a teacher's decision reaches sooner (confirmed, student 1, human),
 * so no shortest path takes it; every path ending in a decision other than student 1's is also
 * replayed with the correction appended. The batch takes it once validation is over, so the
 * replay first decides the companion B.
 */
function withCorrections(paths: Array<ModelPath<AssociationSnapshot, AssociationEvent>>) {
  const { label, event } = associationSamples().find((s) => s.event.type === 'CORRECT')!;
  const extended = [...paths];
  for (const path of paths) {
    const end = path.steps.at(-1)?.after;
    if (!end || end.value === 'pending_validation' || end.context.student_id === MODEL.student1) continue;
    extended.push({ ...path, steps: [...path.steps, { label, event, before: end, after: transition(associationMachine, end, event)[0] }] });
  }
  return extended;
}

/** Batch events that bring essay A to its origin's suggestion, B to a confident one. */
function setupEvents(origin: AssociationOrigin, batch: BatchSnapshot): BatchEvent[] {
  const [provision, suggest] = ['provision 2 essays', 'suggest authors'].map(
    (label) => batchSamples(batch).find((s) => s.label === label)!.event,
  );
  if (suggest?.type !== 'AUTHOR_MATCHES_SUGGESTED') throw new Error('the fixture lost its suggestion sample');
  const a = associationInput(origin);
  const matches = [
    {
      essay_id: MODEL.essayA,
      text_storage_id: a.text_storage_id,
      filename: 'a.docx',
      suggestions:
        a.suggested_student_id === null
          ? []
          : [
              {
                student_id: a.suggested_student_id,
                student_name: 'Model Student',
                student_email: null,
                confidence_score: a.confidence_score!,
                match_reasons: a.match_reasons!,
              },
            ],
    },
    {
      essay_id: MODEL.essayB,
      text_storage_id: 'storage-b',
      filename: 'b.docx',
      suggestions: [
        {
          student_id: MODEL.student1,
          student_name: 'Model Student',
          student_email: null,
          confidence_score: 0.91,
          match_reasons: ['name in header'],
        },
      ],
    },
  ];
  return [provision!, { ...suggest, matches }];
}

function toBatchEvent(event: AssociationEvent, batch: BatchSnapshot): BatchEvent {
  switch (event.type) {
    case 'CONFIRM': {
      const named = event.student_id === undefined ? {} : { student_id: event.student_id };
      const decision = { essay_id: MODEL.essayA, confirmed: true, ...named, student_in_class: event.student_in_class };
      return { type: 'TEACHER_DECISIONS', at: event.at, teacher_id: event.by, decisions: [decision], students: {} };
    }
    case 'REJECT':
      return {
        type: 'TEACHER_DECISIONS',
        at: event.at,
        teacher_id: event.by,
        decisions: [{ essay_id: MODEL.essayA, confirmed: false, student_in_class: true }],
        students: {},
      };
    case 'REOPEN':
      return { type: 'TEACHER_REOPENED', at: event.at, teacher_id: event.by, essay_ids: [MODEL.essayA], reason: null };
    case 'CORRECT':
      return {
        type: 'TEACHER_CORRECTED',
        at: event.at,
        teacher_id: event.by,
        corrections: [{ essay_id: MODEL.essayA, student_id: event.student_id, student_in_class: event.student_in_class, reason: null }],
        students: {},
      };
    case 'TIMEOUT':
      return {
        type: 'VALIDATION_TIMEOUT',
        at: event.at,
        deadline_version: batch.context.deadline_version,
        unknown_student_id: event.unknown_student_id,
        students: {},
      };
  }
}

/**
 * The oracle: what each sample should do to essay A, written by hand from the domain (CONTRACT.md
 * section 6, huleedu-phase1.md), not read from the machine. Only a pending association can be
 * decided, and only a teacher's decision reopened; the teacher confirms the suggestion (if there is one) or corrects it to a student of the
 * class, or rejects; the deadline keeps a suggestion of confidence 0.7 or more, else links UNKNOWN.
 */
function expectedAfter(view: AssociationView, origin: AssociationOrigin, label: string): AssociationView | 'refused' {
  const suggestion = associationInput(origin);
  // The teacher may take back their own decision while the batch waits: pending again, with the suggestion.
  if (label === 'reopen') return view.validation_method === 'human' ? suggestedView(origin) : 'refused';
  // Once decided, by the teacher or the deadline, the teacher may name another student of the class.
  if (label === 'correct to student 1 after validation') {
    if (view.validation_status === 'pending_validation' || view.student_id === MODEL.student1) return 'refused';
    return { validation_status: 'confirmed', validation_method: 'human', validated_by: MODEL.ownerId, student_id: MODEL.student1 };
  }
  if (view.validation_status !== 'pending_validation') return 'refused';
  const teacher = (status: string, student: string | null): AssociationView => ({
    validation_status: status,
    validation_method: 'human',
    validated_by: MODEL.ownerId,
    student_id: student,
  });
  switch (label) {
    case 'confirm the suggestion':
      return suggestion.suggested_student_id === null ? 'refused' : teacher('confirmed', suggestion.suggested_student_id);
    case 'correct to student 1':
      return teacher('confirmed', MODEL.student1);
    case 'reject':
      return teacher('rejected', null);
    case 'deadline passes': {
      const keep = suggestion.suggested_student_id !== null && suggestion.confidence_score !== null && suggestion.confidence_score >= 0.7;
      return keep
        ? {
            validation_status: 'timeout_confirmed',
            validation_method: 'timeout',
            validated_by: 'SYSTEM_TIMEOUT',
            student_id: suggestion.suggested_student_id,
          }
        : { validation_status: 'no_match', validation_method: 'timeout', validated_by: 'SYSTEM_TIMEOUT', student_id: MODEL.unknownStudent };
    }
    default:
      return 'refused'; // a student outside the class
  }
}

/** What the machine's snapshot says, to be compared with the table. */
function machineView(snapshot: AssociationSnapshot): AssociationView {
  const c = snapshot.context;
  return {
    validation_status: stateString(snapshot.value),
    validation_method: c.validation_method,
    validated_by: c.validated_by,
    student_id: c.student_id,
  };
}

/** Essay A as the oracle has it right after the suggestions: pending, holding the suggested student. */
const suggestedView = (origin: AssociationOrigin): AssociationView => ({
  validation_status: 'pending_validation',
  validation_method: null,
  validated_by: null,
  student_id: associationInput(origin).suggested_student_id,
});

function describePath(path: ModelPath<AssociationSnapshot, AssociationEvent>): string {
  const end = path.steps.at(-1)?.after ?? path.start;
  return `${path.origin}: ${path.steps.map((s) => s.label).join(' → ') || '(suggested)'} ⇒ ${stateString(end.value)}`;
}

describe('association machine paths replayed through a batch against the HTTP API', () => {
  let h: Harness;
  let driver: ReturnType<typeof createBatchDriver>;
  const coverage = new Coverage('association', associationMachine, ['CONFIRM', 'REJECT', 'REOPEN', 'CORRECT', 'TIMEOUT']);
  const refusalsTriedAt = new Set<string>();

  beforeAll(async () => {
    const s = generated.stats;
    console.info(
      `model association: ${s.shortest} shortest paths over ${s.vertices} vertices, ${s.simple} simple paths; ` +
        `bound: traversal limit ${BOUND.limit}, max depth ${BOUND.maxDepth} (longest ${s.longest} events, ${s.cutByDepth} cut); ` +
        `replaying ${s.executed} paths / ${s.steps} steps after dropping duplicates and prefixes`,
    );
    h = await startHarness({ label: 'model_association', validationTimeoutMs: 24 * 3_600_000 });
    const teacher = await h.teacher(MODEL.ownerId);
    driver = createBatchDriver(h, teacher, { ENG5: await createClassWithStudents(h, teacher, 'ENG5', 2) });
  });
  afterAll(async () => {
    await driver?.close();
    await h?.close();
  });

  for (const path of withCorrections(withReopenings(generated.paths))) {
    it(`replays ${describePath(path)}`, async () => {
      const ids = await driver.register('REGULAR');
      let batch = initialTransition(batchMachine, BATCH_INPUTS.REGULAR)[0];
      let version = 1;

      /** One batch event, accepted by the model and by the API; returns essay A as the API shows it. */
      const batchStep = async (event: BatchEvent, why: string) => {
        const [next] = transition(batchMachine, batch, event);
        expect(next, `the batch model takes ${why}`).not.toBe(batch);
        const answer = await driver.send(event, ids);
        expect(answer.status, `${why}: ${JSON.stringify(answer.body)}`).toBe(200);
        batch = next;
        version++;
        const seen = await driver.observe(ids);
        expect({ state: seen.state, version: seen.version }, `after ${why}`).toEqual({ state: stateString(batch.value), version });
        expect(batchInvariants(await readBatchFacts(h, MODEL.ownerId, ids.batchId)), `after ${why}: invariants`).toEqual([]);
        return seen.associations[MODEL.essayA];
      };

      const origin = path.origin as AssociationOrigin;
      const tryRefusals = async (snapshot: AssociationSnapshot, oracle: AssociationView) => {
        // Every sample: the machine accepts exactly what the table accepts, and lands where it says.
        for (const sample of associationSamples()) {
          const [next] = transition(associationMachine, snapshot, sample.event);
          const machineSays = next === snapshot ? 'refused' : machineView(next);
          expect(machineSays, `the machine vs the oracle table: "${sample.label}" in ${oracle.validation_status} (${origin})`).toEqual(
            expectedAfter(oracle, origin, sample.label),
          );
        }
        const vertex = `${path.origin}|${associationKey(snapshot)}`;
        if (refusalsTriedAt.has(vertex)) return;
        refusalsTriedAt.add(vertex);
        const refused = associationSamples().filter((s) => expectedAfter(oracle, origin, s.label) === 'refused');
        // The timeout also decides B and moves the batch on, so it goes last.
        refused.sort((x, y) => Number(x.event.type === 'TIMEOUT') - Number(y.event.type === 'TIMEOUT'));
        for (const sample of refused) {
          const why = `${sample.label} in ${stateString(snapshot.value)}`;
          const guarded = eventsAcceptedIn(snapshot).includes(sample.event.type);
          const event = toBatchEvent(sample.event, batch);
          if (transition(batchMachine, batch, event)[0] === batch) {
            const answer = await driver.send(event, ids);
            expect(answer.status, why).toBe(409);
            const seen = await driver.observe(ids);
            expect(seen.version, why).toBe(version);
            expect(seen.associations[MODEL.essayA], why).toEqual(oracle);
          } else {
            // The batch takes it for B; A must come out as it was.
            expect(await batchStep(event, why), why).toEqual(oracle);
          }
          coverage.refused(snapshot, sample.event.type, guarded);
        }
      };

      const setup = setupEvents(origin, batch);
      await batchStep(setup[0]!, 'provision 2 essays');
      let oracle = suggestedView(origin);
      expect(await batchStep(setup[1]!, 'suggest authors'), 'suggested').toEqual(oracle);
      coverage.visit(path.start);
      await tryRefusals(path.start, oracle);
      for (const step of path.steps) {
        if (step.event.type === 'CORRECT' && stateString(batch.value) === 'awaiting_student_validation.awaiting_teacher') {
          // Validation must be over: the companion B takes its confident suggestion, A stays as it is.
          const settle = batchSamples(batch).find((s) => s.label === 'confirm A')!.event as Extract<
            BatchEvent,
            { type: 'TEACHER_DECISIONS' }
          >;
          const companion = { ...settle, decisions: [{ ...settle.decisions[0]!, essay_id: MODEL.essayB }] };
          expect(await batchStep(companion, 'settle the companion B'), 'A as it was').toEqual(oracle);
        }
        const expected = expectedAfter(oracle, origin, step.label);
        expect(expected, `the oracle table accepts "${step.label}" in ${oracle.validation_status}`).not.toBe('refused');
        const seen = await batchStep(toBatchEvent(step.event, batch), step.label);
        expect(seen, `after ${step.label}`).toEqual(expected);
        oracle = expected as AssociationView;
        coverage.visit(step.after);
        coverage.take(transitionsTaken(associationMachine, step.before, step.event));
        await tryRefusals(step.after, oracle);
      }
      expect(await auditViolations(h, ids.batchId), 'the audit replays the path').toEqual([]);
    });
  }

  auditsEveryBatchAtTheEnd(() => h);

  it('covers every state node and transition of the association machine, and tries every refusable pair', () => {
    console.info(coverage.line());
    expect(coverage.missing()).toEqual({ states: [], transitions: [], refusals: [] });
  });
});
