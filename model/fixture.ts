import type { SnapshotFrom } from 'xstate';
import type { AssociationEvent, AssociationInput } from '../machines/association.ts';
import type { BatchInput, batchMachine } from '../machines/batch.ts';
import { stateString } from '../machines/describe.ts';
import type { BatchEvent } from '../machines/events.ts';
import type { Sample } from './paths.ts';

/**
 * The model's fixture: one class with two students, one batch of two essays, fixed ids and times.
 * Event samples are built against it; a replay binds these ids to fresh real ones per path.
 */
export const MODEL = {
  ownerId: 'teacher-model',
  batchId: '00000000-0000-4000-8000-0000000000b1',
  correlationId: '00000000-0000-4000-8000-0000000000cc',
  classId: '00000000-0000-4000-8000-0000000000c1',
  otherClassId: '00000000-0000-4000-8000-0000000000c2',
  essayA: '00000000-0000-4000-8000-0000000000e1',
  essayB: '00000000-0000-4000-8000-0000000000e2',
  student0: '00000000-0000-4000-8000-0000000000a0',
  student1: '00000000-0000-4000-8000-0000000000a1',
  outsideStudent: '00000000-0000-4000-8000-0000000000af',
  unknownStudent: '00000000-0000-4000-8000-00000000a0a0',
  at: '2025-03-01T08:00:00.000Z',
  dueAt: '2025-03-02T08:00:00.000Z',
  movedDueAt: '2025-03-02T09:00:00.000Z',
  pastDueAt: '2025-02-28T08:00:00.000Z',
  /** A pause's end: four hours after the model's clock (the driver sends it as four hours from now). */
  pauseUntil: '2025-03-01T12:00:00.000Z',
} as const;

export type BatchSnapshot = SnapshotFrom<typeof batchMachine>;
export type ClassType = 'REGULAR' | 'GUEST';

export const BATCH_INPUTS: Record<ClassType, BatchInput> = {
  REGULAR: {
    batch_id: MODEL.batchId,
    owner_id: MODEL.ownerId,
    class_id: MODEL.classId,
    course_code: 'ENG5',
    expected_essay_count: 2,
    correlation_id: MODEL.correlationId,
  },
  GUEST: {
    batch_id: MODEL.batchId,
    owner_id: MODEL.ownerId,
    class_id: null,
    course_code: 'ENG5',
    expected_essay_count: 2,
    correlation_id: MODEL.correlationId,
  },
};

const ESSAYS = [
  { essay_id: MODEL.essayA, text_storage_id: 'storage-a' },
  { essay_id: MODEL.essayB, text_storage_id: 'storage-b' },
];
const at = MODEL.at;
type Decision = { essay_id: string; confirmed: boolean; student_id?: string; student_in_class: boolean };
const decide = (label: string, ...decisions: Decision[]): Sample<BatchEvent> => ({
  label,
  event: { type: 'TEACHER_DECISIONS', at, teacher_id: MODEL.ownerId, decisions, students: {} },
});

/**
 * The data a path is replayed with, cycled over the paths so each kind meets every part of the
 * chart: essay A's best suggestion on both sides of the deadline's 0.7 rule and of the 0.9 line
 * between medium and high (B has none), a course of each language, and partial provisioning
 * (2 of 3 essays arrive, which is not a failure). The graph does not depend on it: the machine's
 * guards read none of it.
 */
export interface PathData {
  name: string;
  course: ModelCourse;
  confidenceA: number;
  /** The essays the batch is registered with; 2 are provisioned. */
  expected: number;
}

/** Courses of both languages, and not only the first level of each. */
export const MODEL_COURSES = ['ENG5', 'ENG7', 'SV1', 'SV3'] as const;
export type ModelCourse = (typeof MODEL_COURSES)[number];

export const PATH_DATA: PathData[] = [
  { name: 'ENG5, A at 0.7', course: 'ENG5', confidenceA: 0.7, expected: 2 },
  { name: 'SV1, A at 0.69, 2 of 3 provisioned', course: 'SV1', confidenceA: 0.69, expected: 3 },
  { name: 'SV3, A at 0.9', course: 'SV3', confidenceA: 0.9, expected: 2 },
  { name: 'ENG7, A at 0.91, 2 of 3 provisioned', course: 'ENG7', confidenceA: 0.91, expected: 3 },
];

/** The runner-up suggestion for A, below every tried score, so keeping the wrong one shows. */
export const RUNNER_UP_SCORE = 0.3;

/**
 * One or more samples per event type. Essay A gets a confident suggestion (a timeout keeps it);
 * essay B gets none (a timeout links UNKNOWN). Samples whose guard must fail are named so. The
 * timeout samples read the current deadline version, as a real timer carries it.
 */
export function batchSamples(snapshot: BatchSnapshot, data: PathData = PATH_DATA[0]!): Array<Sample<BatchEvent>> {
  const version = snapshot.context.deadline_version;
  return [
    {
      label: 'provision 2 essays',
      event: { type: 'CONTENT_PROVISIONED', at, essays: ESSAYS, provisioned_count: 2, expected_count: data.expected },
    },
    {
      label: 'provision 0 essays',
      event: { type: 'CONTENT_PROVISIONED', at, essays: [], provisioned_count: 0, expected_count: 2 },
    },
    {
      label: 'suggest authors',
      event: {
        type: 'AUTHOR_MATCHES_SUGGESTED',
        at,
        class_id: MODEL.classId,
        created_by: MODEL.ownerId,
        due_at: MODEL.dueAt,
        matches: [
          {
            ...ESSAYS[0]!,
            filename: 'essay-a.docx',
            suggestions: [
              {
                student_id: MODEL.student0,
                student_name: 'Student0 Lastname0',
                student_email: null,
                confidence_score: data.confidenceA,
                match_reasons: ['name in header'],
              },
              {
                student_id: MODEL.student1,
                student_name: 'Student1 Lastname1',
                student_email: null,
                confidence_score: RUNNER_UP_SCORE,
                match_reasons: ['same class'],
              },
            ],
          },
          { ...ESSAYS[1]!, filename: 'essay-b.docx', suggestions: [] },
        ],
      },
    },
    {
      label: 'suggest authors for another class (guard fails)',
      event: {
        type: 'AUTHOR_MATCHES_SUGGESTED',
        at,
        class_id: MODEL.otherClassId,
        created_by: MODEL.ownerId,
        due_at: MODEL.dueAt,
        matches: [],
      },
    },
    decide('confirm A', { essay_id: MODEL.essayA, confirmed: true, student_in_class: true }),
    decide('reject B', { essay_id: MODEL.essayB, confirmed: false, student_in_class: true }),
    decide('correct B to student 1', { essay_id: MODEL.essayB, confirmed: true, student_id: MODEL.student1, student_in_class: true }),
    decide('confirm B without a suggestion (guard fails)', { essay_id: MODEL.essayB, confirmed: true, student_in_class: true }),
    // One call, several decisions: each applies on its own; the call is refused only when none does.
    decide(
      'confirm A and reject B',
      { essay_id: MODEL.essayA, confirmed: true, student_in_class: true },
      { essay_id: MODEL.essayB, confirmed: false, student_in_class: true },
    ),
    decide(
      'confirm B without a suggestion, and A (B refused)',
      { essay_id: MODEL.essayB, confirmed: true, student_in_class: true },
      { essay_id: MODEL.essayA, confirmed: true, student_in_class: true },
    ),
    // One sample for both: each essay a teacher decided is reopened, the others are refused per item.
    {
      label: 'reopen A and B',
      event: {
        type: 'TEACHER_REOPENED',
        at,
        teacher_id: MODEL.ownerId,
        essay_ids: [MODEL.essayA, MODEL.essayB],
        reason: 'picked the wrong student',
      },
    },
    decide('correct A to a student outside the class (guard fails)', {
      essay_id: MODEL.essayA,
      confirmed: true,
      student_id: MODEL.outsideStudent,
      student_in_class: false,
    }),
    // While paused, the pending deadline is the pause's end, and firing it resumes ('pause ends').
    ...(snapshot.context.pause === null
      ? [
          {
            label: 'deadline passes',
            event: {
              type: 'VALIDATION_TIMEOUT' as const,
              at: MODEL.dueAt,
              deadline_version: version,
              unknown_student_id: MODEL.unknownStudent,
              students: {},
            },
          },
        ]
      : [
          {
            label: 'pause ends',
            event: { type: 'VALIDATION_RESUMED' as const, at: MODEL.pauseUntil, by: 'timeout', deadline_version: version },
          },
        ]),
    {
      label: 'stale deadline fires (guard fails)',
      event: {
        type: 'VALIDATION_TIMEOUT',
        at: MODEL.dueAt,
        deadline_version: version - 1,
        unknown_student_id: MODEL.unknownStudent,
        students: {},
      },
    },
    { label: 'extend deadline', event: { type: 'DEADLINE_CHANGED', at, by: MODEL.ownerId, due_at: MODEL.movedDueAt } },
    {
      label: 'pause until noon',
      event: { type: 'VALIDATION_PAUSED', at, by: MODEL.ownerId, until: MODEL.pauseUntil, reason: 'on a school trip' },
    },
    { label: 'resume', event: { type: 'VALIDATION_RESUMED', at, by: MODEL.ownerId, deadline_version: null } },
    {
      label: 'move deadline into the past (guard fails)',
      event: { type: 'DEADLINE_CHANGED', at, by: MODEL.ownerId, due_at: MODEL.pastDueAt },
    },
    {
      label: 'essays ready (REGULAR)',
      event: { type: 'ESSAYS_READY', at, ready_essays: ESSAYS, class_type: 'REGULAR', student_prompt_ref: null },
    },
    {
      label: 'essays ready (GUEST)',
      event: { type: 'ESSAYS_READY', at, ready_essays: ESSAYS, class_type: 'GUEST', student_prompt_ref: null },
    },
    {
      label: 'request pipeline',
      event: {
        type: 'PIPELINE_REQUESTED',
        at,
        pipeline: 'nlp',
        requested_by: MODEL.ownerId,
        prompt_payload: { assignment_id: 'assignment-1' },
        is_retry: false,
        credits: { allowed: true, required_credits: 0, available_credits: 0, resource_breakdown: {} },
      },
    },
    {
      label: 'request cj_assessment without credits',
      event: {
        type: 'PIPELINE_REQUESTED',
        at,
        pipeline: 'cj_assessment',
        requested_by: MODEL.ownerId,
        prompt_payload: null,
        is_retry: false,
        credits: {
          allowed: false,
          denial_reason: 'insufficient_credits',
          required_credits: 1,
          available_credits: 0,
          resource_breakdown: { cj_comparison: 1 },
        },
      },
    },
    {
      label: 'nlp completes',
      event: { type: 'PHASE_OUTCOME', at, phase: 'nlp', outcome: 'completed_successfully', processed_count: 2, failed_essay_ids: [] },
    },
    {
      label: 'spellcheck completes',
      event: {
        type: 'PHASE_OUTCOME',
        at,
        phase: 'spellcheck',
        outcome: 'completed_successfully',
        processed_count: 2,
        failed_essay_ids: [],
      },
    },
    {
      label: 'amend prompt',
      event: {
        type: 'PROMPT_AMENDED',
        at,
        by: MODEL.ownerId,
        student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-1' } } },
      },
    },
    {
      label: 'critical validation errors',
      // One critical error is as critical as many.
      event: { type: 'VALIDATION_ERRORS', at, critical: true, total_errors: 1, failed_essay_ids: [MODEL.essayA] },
    },
    {
      label: 'some essays failed validation',
      event: { type: 'VALIDATION_ERRORS', at, critical: false, total_errors: 1, failed_essay_ids: [MODEL.essayB] },
    },
    // Last, so that a shortest path corrects in ready_for_pipeline_execution too. One sample for both: after validation each decided essay goes to student 1, all or none (refused
    // when B already is student 1's, and while the batch waits or once a pipeline was requested).
    {
      label: 'correct A and B to student 1',
      event: {
        type: 'TEACHER_CORRECTED',
        at,
        teacher_id: MODEL.ownerId,
        corrections: [
          { essay_id: MODEL.essayA, student_id: MODEL.student1, student_in_class: true, reason: 'the deadline guessed wrong' },
          { essay_id: MODEL.essayB, student_id: MODEL.student1, student_in_class: true, reason: null },
        ],
        students: {},
      },
    },
    { label: 'cancel', event: { type: 'CANCEL', at, by: MODEL.ownerId, reason: null } },
  ];
}

/**
 * The vertex for simple paths: the state plus only the context a guard reads (essays stored,
 * association statuses). Extending the deadline is a self-loop here, which keeps the number of
 * simple paths from multiplying by every place the extension could go.
 */
export function batchGuardKey(snapshot: BatchSnapshot): string {
  return JSON.stringify(keyParts(snapshot));
}

/**
 * The vertex for shortest paths: batchGuardKey plus `deadline_moved`, which no guard reads; it is
 * there so that extending the deadline leads to a new vertex and lands on a path.
 */
export function batchKey(snapshot: BatchSnapshot): string {
  const parts = keyParts(snapshot);
  if (parts.state === 'awaiting_student_validation.awaiting_teacher') {
    parts.deadline_moved = snapshot.context.deadline_version > 1;
    // A pause, on shortest paths only: as a vertex of simple paths it would multiply them by every
    // place a pause can go. A resume goes back to a vertex reached sooner; the model test appends it.
    parts.paused = snapshot.context.pause !== null;
  }
  // Self-loops no guard reads: a non-critical validation report, and a GUEST batch's essays-ready.
  parts.errors_reported = snapshot.context.validation_errors > 0;
  if (parts.state === 'ready_for_pipeline_execution' && parts.class_type === 'GUEST') parts.essays_stored = snapshot.context.essays_stored;
  // What a later pipeline request runs, skips or is denied depends on each phase's status. Guards
  // read it, but as a vertex of simple paths it would multiply them by every order of phase
  // outcomes; shortest paths reach each combination, which is what the chart's guards need.
  if (parts.state === 'ready_for_pipeline_execution') {
    parts.phases = Object.fromEntries(Object.entries(snapshot.context.pipeline_state?.phases ?? {}).map(([phase, d]) => [phase, d.status]));
    parts.denied = snapshot.context.denied_pipeline_requests > 0;
    parts.skipped = snapshot.context.skipped_pipeline_requests > 0;
  }
  // A correction after validation: a self-loop no guard reads as such; whether every essay is now
  // student 1's (only a correction makes A so) puts it on a shortest path, until a pipeline starts.
  if (parts.state === 'student_validation_completed' || (parts.state === 'ready_for_pipeline_execution' && !parts.pipeline_requested)) {
    const all = Object.values(snapshot.context.associations);
    if (all.length > 0) parts.corrected = all.every((a) => a.student_id === MODEL.student1);
  }
  // A prompt amendment: a self-loop no guard reads.
  if (parts.state === 'awaiting_content_validation' || parts.state === 'ready_for_pipeline_execution')
    parts.prompt_attached = snapshot.context.student_prompt_ref !== null;
  return JSON.stringify(parts);
}

function keyParts(snapshot: BatchSnapshot): Record<string, unknown> {
  const c = snapshot.context;
  const state = stateString(snapshot.value);
  const parts: Record<string, unknown> = { class_type: c.class_type, state };
  if (state.startsWith('awaiting_student_validation.')) parts.essays_stored = c.essays_stored;
  if (state === 'ready_for_pipeline_execution') parts.pipeline_requested = c.pipeline !== null;
  if (state === 'awaiting_student_validation.awaiting_teacher') {
    parts.associations = Object.values(c.associations).map((a) => a.validation_status);
  }
  return parts;
}

export const ASSOCIATION_ORIGINS = ['confident suggestion', 'unsure suggestion', 'no suggestion'] as const;
export type AssociationOrigin = (typeof ASSOCIATION_ORIGINS)[number];

/** Essay A as the association under test, with each kind of suggestion the timeout tells apart (at the 0.7 line). */
export function associationInput(origin: AssociationOrigin): AssociationInput {
  const suggestion =
    origin === 'no suggestion'
      ? { suggested_student_id: null, confidence_score: null, match_reasons: null }
      : {
          suggested_student_id: MODEL.student0,
          confidence_score: origin === 'confident suggestion' ? 0.7 : 0.69,
          match_reasons: ['name in header'],
        };
  return {
    essay_id: MODEL.essayA,
    batch_id: MODEL.batchId,
    class_id: MODEL.classId,
    text_storage_id: 'storage-a',
    created_by_user_id: MODEL.ownerId,
    created_at: MODEL.at,
    ...suggestion,
  };
}

export function associationSamples(): Array<Sample<AssociationEvent>> {
  return [
    { label: 'confirm the suggestion', event: { type: 'CONFIRM', at, by: MODEL.ownerId, student_in_class: true } },
    {
      label: 'correct to student 1',
      event: { type: 'CONFIRM', at, by: MODEL.ownerId, student_id: MODEL.student1, student_in_class: true },
    },
    {
      label: 'correct to a student outside the class (guard fails)',
      event: { type: 'CONFIRM', at, by: MODEL.ownerId, student_id: MODEL.outsideStudent, student_in_class: false },
    },
    { label: 'reject', event: { type: 'REJECT', at, by: MODEL.ownerId } },
    { label: 'reopen', event: { type: 'REOPEN', at, by: MODEL.ownerId } },
    {
      label: 'correct to student 1 after validation',
      event: { type: 'CORRECT', at, by: MODEL.ownerId, student_id: MODEL.student1, student_in_class: true },
    },
    { label: 'deadline passes', event: { type: 'TIMEOUT', at: MODEL.dueAt, unknown_student_id: MODEL.unknownStudent } },
  ];
}

/** The association's vertex: its state plus the student and method it settled on. */
export function associationKey(snapshot: {
  value: unknown;
  context: { student_id: string | null; validation_method: string | null };
}): string {
  return JSON.stringify([snapshot.value, snapshot.context.student_id, snapshot.context.validation_method]);
}
