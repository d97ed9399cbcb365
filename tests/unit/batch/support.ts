/**
 * What the batch machine's unit tests share: the ids and dates, the events of each kind with sensible
 * defaults, sending an event to a snapshot, and the states on the way (registered, awaiting the teacher,
 * ready, running, failed, cancelled), each reached by accepted events from the start.
 */
import { type SnapshotFrom, initialTransition, transition } from 'xstate';
import { expect } from 'vitest';
import { type BatchEmitted, type BatchInput, batchMachine } from '../../../machines/batch.ts';
import type { ClassType } from '../../../machines/domain.ts';
import { type BatchEvent, type DecisionInput, type EssayRef, type SuggestedMatch, TOPICS } from '../../../machines/events.ts';

export type BatchSnapshot = SnapshotFrom<typeof batchMachine>;
export type Topic = BatchEmitted['type'];
export type EmittedData<T extends Topic> = Extract<BatchEmitted, { type: T }>['data'];

export const BATCH_ID = '5d2a7f10-0000-4000-8000-0000000000ba';
export const CLASS_ID = '5d2a7f10-0000-4000-8000-0000000000c1';
export const OTHER_CLASS_ID = '5d2a7f10-0000-4000-8000-0000000000c2';
export const CORRELATION_ID = '5d2a7f10-0000-4000-8000-0000000000cc';
export const OWNER = 'teacher-owner';
export const TEACHER = 'teacher-owner';
export const MATCHER = 'nlp-matcher';

export const E1 = '5d2a7f10-0000-4000-8000-0000000000e1';
export const E2 = '5d2a7f10-0000-4000-8000-0000000000e2';
export const E3 = '5d2a7f10-0000-4000-8000-0000000000e3';
export const FOREIGN_ESSAY = '5d2a7f10-0000-4000-8000-0000000000e9';
export const ESSAYS: EssayRef[] = [
  { essay_id: E1, text_storage_id: 'storage-e1' },
  { essay_id: E2, text_storage_id: 'storage-e2' },
  { essay_id: E3, text_storage_id: 'storage-e3' },
];

export const S1 = '5d2a7f10-0000-4000-8000-0000000000a1';
export const S2 = '5d2a7f10-0000-4000-8000-0000000000a2';
export const S3 = '5d2a7f10-0000-4000-8000-0000000000a3';
export const OTHER_STUDENT = '5d2a7f10-0000-4000-8000-0000000000a4';
export const UNKNOWN_STUDENT = '5d2a7f10-0000-4000-8000-00000000a0a0';

export const PROVISIONED_AT = '2025-03-03T08:00:00.000Z';
export const SUGGESTED_AT = '2025-03-03T08:05:00.000Z';
export const DUE_AT = '2025-03-04T08:05:00.000Z';
export const DECIDED_AT = '2025-03-03T10:00:00.000Z';
export const LATER_DUE_AT = '2025-03-05T08:05:00.000Z';
export const STORED_AT = '2025-03-03T08:10:00.000Z';

export const SUGGESTION_E1 = { student_id: S1, confidence_score: 0.95, match_reasons: ['name in header'] };
export const SUGGESTION_E2 = { student_id: S2, confidence_score: 0.75, match_reasons: ['email in text'] };
export const SUGGESTION_E3 = { student_id: S3, confidence_score: 0.4, match_reasons: ['first name only'] };
export const named = (s: typeof SUGGESTION_E1, name: string) => ({ ...s, student_name: name, student_email: null });
export const match = (essay_id: string, ...suggestions: Array<ReturnType<typeof named>>): SuggestedMatch => ({
  essay_id,
  text_storage_id: `storage-${essay_id === E1 ? 'e1' : essay_id === E2 ? 'e2' : 'e3'}`,
  filename: `${essay_id}.docx`,
  suggestions,
});
export const MATCHES: SuggestedMatch[] = [
  match(E1, named(SUGGESTION_E1, 'Student One')),
  match(E2, named(SUGGESTION_E2, 'Student Two')),
  match(E3, named(SUGGESTION_E3, 'Student Three')),
];
export const STUDENTS = {
  [S1]: { first_name: 'Student', last_name: 'One', email: 's1@school.example' },
  [S2]: { first_name: 'Student', last_name: 'Two', email: 's2@school.example' },
  [S3]: { first_name: 'Student', last_name: 'Three', email: 's3@school.example' },
  [OTHER_STUDENT]: { first_name: 'Other', last_name: 'Student', email: 'other@school.example' },
  [UNKNOWN_STUDENT]: { first_name: 'UNKNOWN', last_name: 'STUDENT', email: `unknown.${CLASS_ID}@huleedu.system` },
};

export function batchInput(overrides: Partial<BatchInput> = {}): BatchInput {
  return {
    batch_id: BATCH_ID,
    owner_id: OWNER,
    class_id: CLASS_ID,
    course_code: 'ENG6',
    expected_essay_count: ESSAYS.length,
    correlation_id: CORRELATION_ID,
    ...overrides,
  };
}

export const contentProvisioned = (essays: EssayRef[] = ESSAYS, provisioned_count = essays.length): BatchEvent => ({
  type: 'CONTENT_PROVISIONED',
  at: PROVISIONED_AT,
  essays,
  provisioned_count,
  expected_count: ESSAYS.length,
});
export const authorMatches = (matches: SuggestedMatch[] = MATCHES, class_id = CLASS_ID): BatchEvent => ({
  type: 'AUTHOR_MATCHES_SUGGESTED',
  at: SUGGESTED_AT,
  class_id,
  matches,
  due_at: DUE_AT,
  created_by: MATCHER,
});
export const teacherDecisions = (...decisions: DecisionInput[]): BatchEvent => ({
  type: 'TEACHER_DECISIONS',
  at: DECIDED_AT,
  teacher_id: TEACHER,
  decisions,
  students: STUDENTS,
});
export const teacherReopened = (...essay_ids: string[]): BatchEvent => ({
  type: 'TEACHER_REOPENED',
  at: DECIDED_AT,
  teacher_id: TEACHER,
  essay_ids,
  reason: null,
});
export const confirmed = (essay_id: string, fields: { student_id?: string; student_in_class?: boolean } = {}): DecisionInput => ({
  essay_id,
  confirmed: true,
  student_in_class: fields.student_in_class ?? true,
  ...(fields.student_id === undefined ? {} : { student_id: fields.student_id }),
});
export const rejected = (essay_id: string): DecisionInput => ({ essay_id, confirmed: false, student_in_class: true });
export const validationTimeout = (deadline_version: number, at = DUE_AT): BatchEvent => ({
  type: 'VALIDATION_TIMEOUT',
  at,
  deadline_version,
  unknown_student_id: UNKNOWN_STUDENT,
  students: STUDENTS,
});
export const deadlineChanged = (due_at: string, at = DECIDED_AT): BatchEvent => ({ type: 'DEADLINE_CHANGED', at, due_at, by: TEACHER });
export const PAUSE_UNTIL = '2025-03-03T12:00:00.000Z';
export const validationPaused = (until: string | null = null, at = DECIDED_AT): BatchEvent => ({
  type: 'VALIDATION_PAUSED',
  at,
  by: TEACHER,
  until,
  reason: 'on sick leave',
});
export const validationResumed = (deadline_version: number | null = null, at = DECIDED_AT): BatchEvent => ({
  type: 'VALIDATION_RESUMED',
  at,
  by: deadline_version === null ? TEACHER : 'timeout',
  deadline_version,
});
export const essaysReady = (class_type: ClassType): BatchEvent => ({
  type: 'ESSAYS_READY',
  at: STORED_AT,
  ready_essays: ESSAYS,
  class_type,
  student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-1' } } },
});
export const pipelineRequested = (pipeline: 'nlp' | 'cj_assessment' | 'ai_feedback' = 'nlp'): BatchEvent => ({
  type: 'PIPELINE_REQUESTED',
  at: DECIDED_AT,
  pipeline,
  requested_by: TEACHER,
  prompt_payload: { assignment_id: 'assignment-1' },
  is_retry: false,
  credits: { allowed: true, required_credits: 0, available_credits: 0, resource_breakdown: {} },
});
export const phaseOutcome = (): BatchEvent => ({
  type: 'PHASE_OUTCOME',
  at: DECIDED_AT,
  phase: 'spellcheck',
  outcome: 'completed_successfully',
  processed_count: 3,
  failed_essay_ids: [],
});
export const promptAmended = (): BatchEvent => ({
  type: 'PROMPT_AMENDED',
  at: DECIDED_AT,
  by: TEACHER,
  student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-2' } } },
});
export const validationErrors = (critical: boolean, failed = [E3]): BatchEvent => ({
  type: 'VALIDATION_ERRORS',
  at: PROVISIONED_AT,
  critical,
  total_errors: failed.length,
  failed_essay_ids: failed,
});
export const cancel = (): BatchEvent => ({ type: 'CANCEL', at: DECIDED_AT, by: OWNER, reason: 'uploaded the wrong files' });

export function emittedBy(actions: ReadonlyArray<{ type: string; params?: unknown }>): BatchEmitted[] {
  return actions.filter((a) => a.type === 'xstate.emit').map((a) => (a.params as { event: BatchEmitted }).event);
}

export function send(snapshot: BatchSnapshot, event: BatchEvent) {
  const [next, actions] = transition(batchMachine, snapshot, event);
  return { next, actions, emitted: emittedBy(actions) };
}

export function accept(snapshot: BatchSnapshot, event: BatchEvent) {
  const result = send(snapshot, event);
  expect(result.next).not.toBe(snapshot);
  return result;
}

export function expectRefused(snapshot: BatchSnapshot, event: BatchEvent): void {
  const [next, actions] = transition(batchMachine, snapshot, event);
  expect(next).toBe(snapshot);
  expect(actions).toEqual([]);
}

/** The one event of `topic` among those emitted (per-association updates may come beside it). */
export function single<T extends Topic>(emitted: BatchEmitted[], topic: T): EmittedData<T> {
  const found = emitted.filter((e) => e.type === topic);
  expect(found.map((e) => e.type)).toEqual([topic]);
  const data: unknown = found[0]?.data;
  return data as EmittedData<T>;
}

/** Emitted events other than the per-association updates. */
export const besidesUpdates = (emitted: BatchEmitted[]) => emitted.filter((e) => e.type !== TOPICS.associationUpdated);

export function byEssay<T extends { essay_id: string }>(rows: T[]): Record<string, T> {
  return Object.fromEntries(rows.map((r) => [r.essay_id, r]));
}

export function registered(overrides: Partial<BatchInput> = {}): BatchSnapshot {
  const [snapshot] = initialTransition(batchMachine, batchInput(overrides));
  return snapshot;
}
export const awaitingSuggestions = () => accept(registered(), contentProvisioned()).next;
export const awaitingTeacher = (matches: SuggestedMatch[] = MATCHES) => accept(awaitingSuggestions(), authorMatches(matches)).next;
export const validationCompleted = () => accept(awaitingTeacher(), teacherDecisions(confirmed(E1), confirmed(E2), rejected(E3))).next;
export const regularReady = () => accept(validationCompleted(), essaysReady('REGULAR')).next;
export const guestReady = () => accept(registered({ class_id: null }), contentProvisioned()).next;
export const pipelineRunning = () => accept(regularReady(), pipelineRequested()).next;
export const failedCritically = () => accept(registered(), validationErrors(true, [E1, E2, E3])).next;
export const cancelledBatch = () => accept(registered(), cancel()).next;
export const ingestionFailed = () => accept(registered(), contentProvisioned([], 0)).next;

export const pausedValidation = () => accept(awaitingTeacher(), validationPaused()).next;

export const AWAITING_SUGGESTIONS = { awaiting_student_validation: 'awaiting_suggestions' };
export const AWAITING_TEACHER = { awaiting_student_validation: 'awaiting_teacher' };
