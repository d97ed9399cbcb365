import { type SnapshotFrom, type StateValue, initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { type BatchEmitted, type BatchInput, batchMachine } from '../../machines/batch.ts';
import type { ClassType } from '../../machines/domain.ts';
import {
  type BatchEvent,
  type BatchEventType,
  type DecisionInput,
  type EssayRef,
  type SuggestedMatch,
  TOPICS,
} from '../../machines/events.ts';

type BatchSnapshot = SnapshotFrom<typeof batchMachine>;
type Topic = BatchEmitted['type'];
type EmittedData<T extends Topic> = Extract<BatchEmitted, { type: T }>['data'];

const BATCH_ID = '5d2a7f10-0000-4000-8000-0000000000ba';
const CLASS_ID = '5d2a7f10-0000-4000-8000-0000000000c1';
const OTHER_CLASS_ID = '5d2a7f10-0000-4000-8000-0000000000c2';
const CORRELATION_ID = '5d2a7f10-0000-4000-8000-0000000000cc';
const OWNER = 'teacher-owner';
const TEACHER = 'teacher-owner';
const MATCHER = 'nlp-matcher';

const E1 = '5d2a7f10-0000-4000-8000-0000000000e1';
const E2 = '5d2a7f10-0000-4000-8000-0000000000e2';
const E3 = '5d2a7f10-0000-4000-8000-0000000000e3';
const FOREIGN_ESSAY = '5d2a7f10-0000-4000-8000-0000000000e9';
const ESSAYS: EssayRef[] = [
  { essay_id: E1, text_storage_id: 'storage-e1' },
  { essay_id: E2, text_storage_id: 'storage-e2' },
  { essay_id: E3, text_storage_id: 'storage-e3' },
];

const S1 = '5d2a7f10-0000-4000-8000-0000000000a1';
const S2 = '5d2a7f10-0000-4000-8000-0000000000a2';
const S3 = '5d2a7f10-0000-4000-8000-0000000000a3';
const OTHER_STUDENT = '5d2a7f10-0000-4000-8000-0000000000a4';
const UNKNOWN_STUDENT = '5d2a7f10-0000-4000-8000-00000000a0a0';

const PROVISIONED_AT = '2025-03-03T08:00:00.000Z';
const SUGGESTED_AT = '2025-03-03T08:05:00.000Z';
const DUE_AT = '2025-03-04T08:05:00.000Z';
const DECIDED_AT = '2025-03-03T10:00:00.000Z';
const LATER_DUE_AT = '2025-03-05T08:05:00.000Z';
const STORED_AT = '2025-03-03T08:10:00.000Z';

const SUGGESTION_E1 = { student_id: S1, confidence_score: 0.95, match_reasons: ['name in header'] };
const SUGGESTION_E2 = { student_id: S2, confidence_score: 0.75, match_reasons: ['email in text'] };
const SUGGESTION_E3 = { student_id: S3, confidence_score: 0.4, match_reasons: ['first name only'] };
const named = (s: typeof SUGGESTION_E1, name: string) => ({ ...s, student_name: name, student_email: null });
const match = (essay_id: string, ...suggestions: Array<ReturnType<typeof named>>): SuggestedMatch => ({
  essay_id,
  text_storage_id: `storage-${essay_id === E1 ? 'e1' : essay_id === E2 ? 'e2' : 'e3'}`,
  filename: `${essay_id}.docx`,
  suggestions,
});
const MATCHES: SuggestedMatch[] = [
  match(E1, named(SUGGESTION_E1, 'Student One')),
  match(E2, named(SUGGESTION_E2, 'Student Two')),
  match(E3, named(SUGGESTION_E3, 'Student Three')),
];
const STUDENTS = {
  [S1]: { first_name: 'Student', last_name: 'One', email: 's1@school.example' },
  [S2]: { first_name: 'Student', last_name: 'Two', email: 's2@school.example' },
  [S3]: { first_name: 'Student', last_name: 'Three', email: 's3@school.example' },
  [OTHER_STUDENT]: { first_name: 'Other', last_name: 'Student', email: 'other@school.example' },
  [UNKNOWN_STUDENT]: { first_name: 'UNKNOWN', last_name: 'STUDENT', email: `unknown.${CLASS_ID}@huleedu.system` },
};

function batchInput(overrides: Partial<BatchInput> = {}): BatchInput {
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

const contentProvisioned = (essays: EssayRef[] = ESSAYS, provisioned_count = essays.length): BatchEvent => ({
  type: 'CONTENT_PROVISIONED',
  at: PROVISIONED_AT,
  essays,
  provisioned_count,
  expected_count: ESSAYS.length,
});
const authorMatches = (matches: SuggestedMatch[] = MATCHES, class_id = CLASS_ID): BatchEvent => ({
  type: 'AUTHOR_MATCHES_SUGGESTED',
  at: SUGGESTED_AT,
  class_id,
  matches,
  due_at: DUE_AT,
  created_by: MATCHER,
});
const teacherDecisions = (...decisions: DecisionInput[]): BatchEvent => ({
  type: 'TEACHER_DECISIONS',
  at: DECIDED_AT,
  teacher_id: TEACHER,
  decisions,
  students: STUDENTS,
});
const teacherReopened = (...essay_ids: string[]): BatchEvent => ({
  type: 'TEACHER_REOPENED',
  at: DECIDED_AT,
  teacher_id: TEACHER,
  essay_ids,
  reason: null,
});
const confirmed = (essay_id: string, fields: { student_id?: string; student_in_class?: boolean } = {}): DecisionInput => ({
  essay_id,
  confirmed: true,
  student_in_class: fields.student_in_class ?? true,
  ...(fields.student_id === undefined ? {} : { student_id: fields.student_id }),
});
const rejected = (essay_id: string): DecisionInput => ({ essay_id, confirmed: false, student_in_class: true });
const validationTimeout = (deadline_version: number, at = DUE_AT): BatchEvent => ({
  type: 'VALIDATION_TIMEOUT',
  at,
  deadline_version,
  unknown_student_id: UNKNOWN_STUDENT,
  students: STUDENTS,
});
const deadlineChanged = (due_at: string, at = DECIDED_AT): BatchEvent => ({ type: 'DEADLINE_CHANGED', at, due_at, by: TEACHER });
const essaysReady = (class_type: ClassType): BatchEvent => ({
  type: 'ESSAYS_READY',
  at: STORED_AT,
  ready_essays: ESSAYS,
  class_type,
  student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-1' } } },
});
const pipelineRequested = (pipeline: 'nlp' | 'cj_assessment' | 'ai_feedback' = 'nlp'): BatchEvent => ({
  type: 'PIPELINE_REQUESTED',
  at: DECIDED_AT,
  pipeline,
  requested_by: TEACHER,
  prompt_payload: { assignment_id: 'assignment-1' },
  is_retry: false,
  credits: { allowed: true, required_credits: 0, available_credits: 0, resource_breakdown: {} },
});
const phaseOutcome = (): BatchEvent => ({
  type: 'PHASE_OUTCOME',
  at: DECIDED_AT,
  phase: 'spellcheck',
  outcome: 'completed_successfully',
  processed_count: 3,
  failed_essay_ids: [],
});
const promptAmended = (): BatchEvent => ({
  type: 'PROMPT_AMENDED',
  at: DECIDED_AT,
  by: TEACHER,
  student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-2' } } },
});
const validationErrors = (critical: boolean, failed = [E3]): BatchEvent => ({
  type: 'VALIDATION_ERRORS',
  at: PROVISIONED_AT,
  critical,
  total_errors: failed.length,
  failed_essay_ids: failed,
});
const cancel = (): BatchEvent => ({ type: 'CANCEL', at: DECIDED_AT, by: OWNER, reason: 'uploaded the wrong files' });

function emittedBy(actions: ReadonlyArray<{ type: string; params?: unknown }>): BatchEmitted[] {
  return actions.filter((a) => a.type === 'xstate.emit').map((a) => (a.params as { event: BatchEmitted }).event);
}

function send(snapshot: BatchSnapshot, event: BatchEvent) {
  const [next, actions] = transition(batchMachine, snapshot, event);
  return { next, actions, emitted: emittedBy(actions) };
}

function accept(snapshot: BatchSnapshot, event: BatchEvent) {
  const result = send(snapshot, event);
  expect(result.next).not.toBe(snapshot);
  return result;
}

function expectRefused(snapshot: BatchSnapshot, event: BatchEvent): void {
  const [next, actions] = transition(batchMachine, snapshot, event);
  expect(next).toBe(snapshot);
  expect(actions).toEqual([]);
}

/** The one event of `topic` among those emitted (per-association updates may come beside it). */
function single<T extends Topic>(emitted: BatchEmitted[], topic: T): EmittedData<T> {
  const found = emitted.filter((e) => e.type === topic);
  expect(found.map((e) => e.type)).toEqual([topic]);
  const data: unknown = found[0]?.data;
  return data as EmittedData<T>;
}

/** Emitted events other than the per-association updates. */
const besidesUpdates = (emitted: BatchEmitted[]) => emitted.filter((e) => e.type !== TOPICS.associationUpdated);

function byEssay<T extends { essay_id: string }>(rows: T[]): Record<string, T> {
  return Object.fromEntries(rows.map((r) => [r.essay_id, r]));
}

function registered(overrides: Partial<BatchInput> = {}): BatchSnapshot {
  const [snapshot] = initialTransition(batchMachine, batchInput(overrides));
  return snapshot;
}
const awaitingSuggestions = () => accept(registered(), contentProvisioned()).next;
const awaitingTeacher = (matches: SuggestedMatch[] = MATCHES) => accept(awaitingSuggestions(), authorMatches(matches)).next;
const validationCompleted = () => accept(awaitingTeacher(), teacherDecisions(confirmed(E1), confirmed(E2), rejected(E3))).next;
const regularReady = () => accept(validationCompleted(), essaysReady('REGULAR')).next;
const guestReady = () => accept(registered({ class_id: null }), contentProvisioned()).next;
const pipelineRunning = () => accept(regularReady(), pipelineRequested()).next;
const failedCritically = () => accept(registered(), validationErrors(true, [E1, E2, E3])).next;
const cancelledBatch = () => accept(registered(), cancel()).next;
const ingestionFailed = () => accept(registered(), contentProvisioned([], 0)).next;

const AWAITING_SUGGESTIONS = { awaiting_student_validation: 'awaiting_suggestions' };
const AWAITING_TEACHER = { awaiting_student_validation: 'awaiting_teacher' };

describe('registering a batch', () => {
  it('starts a class batch as a REGULAR batch awaiting content, emitting nothing', () => {
    const [snapshot, actions] = initialTransition(batchMachine, batchInput());
    expect(snapshot.value).toBe('awaiting_content_validation');
    expect(actions).toEqual([]);
    expect(snapshot.context).toEqual({
      ...batchInput(),
      class_type: 'REGULAR',
      language: 'en',
      essays: [],
      associations: {},
      association_counts: { total: 0, pending: 0 },
      deadline: null,
      deadline_version: 0,
      timeout_triggered: false,
      essays_stored: false,
      pipeline: null,
      prompt_payload: null,
      student_prompt_ref: null,
      validation_errors: 0,
      org_id: null,
      assignment_id: null,
      cj_default_llm_model: null,
      cj_default_temperature: null,
      pipeline_state: null,
      skipped_pipeline_requests: 0,
      denied_pipeline_requests: 0,
    });
  });

  it('makes a batch without a class a GUEST batch', () => {
    expect(registered({ class_id: null }).context.class_type).toBe('GUEST');
  });

  it('takes the language from the course: Swedish for SV courses', () => {
    expect(registered({ course_code: 'SV2' }).context.language).toBe('sv');
  });
});

describe('content provisioning', () => {
  it('sends a REGULAR batch to student validation with the student-matching command', () => {
    const { next, emitted } = accept(registered(), contentProvisioned());
    expect(next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(next.context.essays).toEqual(ESSAYS);
    expect(single(emitted, TOPICS.studentMatchingCommand)).toEqual({
      event_name: 'batch.student.matching.initiate.command',
      entity_id: BATCH_ID,
      entity_type: 'batch',
      parent_id: null,
      timestamp: PROVISIONED_AT,
      essays_to_process: ESSAYS,
      class_id: CLASS_ID,
      course_code: 'ENG6',
    });
  });

  it("carries the batch's own course in the student-matching command", () => {
    const { emitted } = accept(registered({ course_code: 'SV3' }), contentProvisioned());
    expect(single(emitted, TOPICS.studentMatchingCommand).course_code).toBe('SV3');
  });

  it('makes a GUEST batch ready for pipelines at once, without any matching, as the real orchestrator does', () => {
    const { next, emitted } = accept(registered({ class_id: null }), contentProvisioned());
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.essays).toEqual(ESSAYS);
    expect(emitted).toEqual([]);
  });

  it('fails a REGULAR batch whose provisioning produced no essays, without asking the matcher', () => {
    const { next, emitted } = accept(registered(), contentProvisioned([], 0));
    expect(next.value).toBe('content_ingestion_failed');
    expect(next.status).toBe('done');
    expect(emitted).toEqual([]);
  });

  it('fails a GUEST batch whose provisioning produced no essays', () => {
    const { next } = accept(registered({ class_id: null }), contentProvisioned([], 0));
    expect(next.value).toBe('content_ingestion_failed');
    expect(next.status).toBe('done');
  });
});

describe('author-match suggestions', () => {
  it('stores one pending association per essay, carrying the best suggestion', () => {
    const { next, emitted } = accept(awaitingSuggestions(), authorMatches());
    expect(next.value).toEqual(AWAITING_TEACHER);
    // Only the teacher is told: the confirmation is theirs to give, before the deadline.
    expect(emitted.map((e) => [e.type, (e.data as { notification_type: string }).notification_type])).toEqual([
      [TOPICS.teacherNotification, 'student_matching_confirmation_required'],
    ]);
    expect(Object.keys(next.context.associations).sort()).toEqual([E1, E2, E3].sort());
    expect(next.context.associations[E1]).toEqual({
      essay_id: E1,
      batch_id: BATCH_ID,
      class_id: CLASS_ID,
      text_storage_id: 'storage-e1',
      created_by_user_id: MATCHER,
      created_at: SUGGESTED_AT,
      suggested_student_id: S1,
      student_id: S1,
      confidence_score: SUGGESTION_E1.confidence_score,
      confidence_level: 'high',
      match_reasons: SUGGESTION_E1.match_reasons,
      validation_status: 'pending_validation',
      validation_method: null,
      validated_by: null,
      validated_at: null,
      filename: `${E1}.docx`,
      suggestions: [named(SUGGESTION_E1, 'Student One')],
    });
    expect(next.context.associations[E2]?.confidence_level).toBe('medium');
    expect(next.context.associations[E3]?.confidence_level).toBe('low');
  });

  it('keeps every suggestion of an essay, highest confidence first, and the best one as the suggested student', () => {
    const low = named({ ...SUGGESTION_E3, student_id: S3, confidence_score: 0.2 }, 'Student Three');
    const high = named({ ...SUGGESTION_E2, student_id: S2, confidence_score: 0.8 }, 'Student Two');
    const mid = named({ ...SUGGESTION_E1, student_id: S1, confidence_score: 0.5 }, 'Student One');
    const { next } = accept(awaitingSuggestions(), authorMatches([match(E1, low, high, mid)]));
    const a = next.context.associations[E1]!;
    expect(a.suggestions.map((s) => s.confidence_score)).toEqual([0.8, 0.5, 0.2]);
    expect(a.suggestions[0]).toEqual(high);
    expect(a).toMatchObject({ suggested_student_id: S2, confidence_score: 0.8, filename: `${E1}.docx` });
  });

  it('starts the validation deadline at version 1', () => {
    const { next } = accept(awaitingSuggestions(), authorMatches());
    expect(next.context.deadline).toEqual({ due_at: DUE_AT, version: 1 });
    expect(next.context.deadline_version).toBe(1);
  });

  it('keeps essays the matcher found no author for as pending associations without a student', () => {
    const matches: SuggestedMatch[] = [match(E1, named(SUGGESTION_E1, 'A Student')), match(E2)];
    const { next } = accept(awaitingSuggestions(), authorMatches(matches));
    for (const essay of [E2, E3]) {
      expect(next.context.associations[essay]).toMatchObject({
        validation_status: 'pending_validation',
        suggested_student_id: null,
        student_id: null,
        confidence_score: null,
        confidence_level: 'no_match',
      });
    }
    expect(next.context.associations[E3]?.text_storage_id).toBe('storage-e3');
  });

  it('refuses suggestions made for another class', () => {
    expectRefused(awaitingSuggestions(), authorMatches(MATCHES, OTHER_CLASS_ID));
  });
});

describe('teacher decisions', () => {
  it('confirms a suggestion and keeps waiting while other essays are pending', () => {
    const before = awaitingTeacher();
    const { next, emitted } = accept(before, teacherDecisions(confirmed(E1)));
    expect(next.value).toEqual(AWAITING_TEACHER);
    expect(besidesUpdates(emitted)).toEqual([]);
    expect(single(emitted, TOPICS.associationUpdated)).toEqual({
      event: 'essay.student.association.updated',
      batch_id: BATCH_ID,
      essay_id: E1,
      student_id: S1,
      first_name: 'Student',
      last_name: 'One',
      student_email: 's1@school.example',
      association_method: 'human',
      confidence_score: SUGGESTION_E1.confidence_score,
      created_by_user_id: TEACHER,
      correlation_id: CORRELATION_ID,
      timestamp: DECIDED_AT,
    });
    expect(next.context.associations[E1]).toMatchObject({
      validation_status: 'confirmed',
      student_id: S1,
      validation_method: 'human',
      validated_by: TEACHER,
      validated_at: DECIDED_AT,
    });
    expect(next.context.associations[E2]?.validation_status).toBe('pending_validation');
    expect(next.context.associations[E3]?.validation_status).toBe('pending_validation');
    expect(next.context.deadline).toEqual(before.context.deadline);
  });

  it('corrects an author to another student of the class', () => {
    const { next } = accept(awaitingTeacher(), teacherDecisions(confirmed(E2, { student_id: OTHER_STUDENT })));
    expect(next.context.associations[E2]).toMatchObject({
      validation_status: 'confirmed',
      student_id: OTHER_STUDENT,
      suggested_student_id: S2,
      validation_method: 'human',
      validated_by: TEACHER,
    });
  });

  it('rejects a suggestion, leaving the essay without a student', () => {
    const { next } = accept(awaitingTeacher(), teacherDecisions(rejected(E3)));
    expect(next.context.associations[E3]).toMatchObject({
      validation_status: 'rejected',
      student_id: null,
      validation_method: 'human',
      validated_by: TEACHER,
      validated_at: DECIDED_AT,
    });
  });

  it('refuses confirming a student who is not in the class', () => {
    expectRefused(awaitingTeacher(), teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT, student_in_class: false })));
  });

  it('refuses confirming a suggestion when nobody was suggested', () => {
    const matches: SuggestedMatch[] = [match(E1)];
    expectRefused(awaitingTeacher(matches), teacherDecisions(confirmed(E1)));
  });

  it('accepts naming a student for an essay nobody was suggested for', () => {
    const matches: SuggestedMatch[] = [match(E1)];
    const { next } = accept(awaitingTeacher(matches), teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT })));
    expect(next.context.associations[E1]?.student_id).toBe(OTHER_STUDENT);
  });

  it('refuses decisions only about essays outside the batch', () => {
    expectRefused(awaitingTeacher(), teacherDecisions(confirmed(FOREIGN_ESSAY), rejected(FOREIGN_ESSAY)));
  });

  it('refuses deciding an association that is already decided', () => {
    const decided = accept(awaitingTeacher(), teacherDecisions(confirmed(E1))).next;
    expectRefused(decided, teacherDecisions(rejected(E1)));
    expectRefused(decided, teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT })));
  });

  it('refuses an empty set of decisions', () => {
    expectRefused(awaitingTeacher(), teacherDecisions());
  });

  it('applies the decisions that can apply and leaves the others pending', () => {
    const { next } = accept(
      awaitingTeacher(),
      teacherDecisions(confirmed(E1), confirmed(E2, { student_id: OTHER_STUDENT, student_in_class: false }), rejected(FOREIGN_ESSAY)),
    );
    expect(next.context.associations[E1]?.validation_status).toBe('confirmed');
    expect(next.context.associations[E2]?.validation_status).toBe('pending_validation');
    expect(next.context.associations[E2]?.student_id).toBe(S2);
    expect(Object.keys(next.context.associations).sort()).toEqual([E1, E2, E3].sort());
  });

  it('completes validation on the last decision and publishes the confirmed associations', () => {
    const partly = accept(awaitingTeacher(), teacherDecisions(confirmed(E1), confirmed(E2, { student_id: OTHER_STUDENT }))).next;
    const { next, emitted } = accept(partly, teacherDecisions(rejected(E3)));
    expect(next.value).toBe('student_validation_completed');
    expect(next.context.deadline).toBeNull();
    expect(next.context.timeout_triggered).toBe(false);
    const data = single(emitted, TOPICS.associationsConfirmed);
    expect(data.batch_id).toBe(BATCH_ID);
    expect(data.class_id).toBe(CLASS_ID);
    expect(data.course_code).toBe('ENG6');
    expect(data.timeout_triggered).toBe(false);
    expect(data.associations).toHaveLength(3);
    const rows = byEssay(data.associations);
    expect(rows[E1]).toEqual({
      essay_id: E1,
      student_id: S1,
      confidence_score: SUGGESTION_E1.confidence_score,
      validation_method: 'human',
      validated_by: TEACHER,
      validated_at: DECIDED_AT,
    });
    expect(rows[E2]).toMatchObject({ student_id: OTHER_STUDENT, validation_method: 'human', validated_by: TEACHER });
    expect(rows[E3]).toMatchObject({ student_id: null, validation_method: 'human', validated_by: TEACHER });
    expect(data.validation_summary).toEqual({
      total_associations: 3,
      confirmed: 2,
      rejected: 1,
      timeout_confirmed: 0,
      no_match: 0,
      human_validated: 3,
      timeout_validated: 0,
    });
  });
});

describe('the validation deadline', () => {
  it('decides every pending association by confidence and publishes with timeout_triggered', () => {
    const { next, emitted } = accept(awaitingTeacher(), validationTimeout(1));
    expect(next.value).toBe('student_validation_completed');
    expect(next.context.deadline).toBeNull();
    expect(next.context.timeout_triggered).toBe(true);
    expect(next.context.associations[E1]).toMatchObject({ validation_status: 'timeout_confirmed', student_id: S1 });
    expect(next.context.associations[E2]).toMatchObject({ validation_status: 'timeout_confirmed', student_id: S2 });
    expect(next.context.associations[E3]).toMatchObject({ validation_status: 'no_match', student_id: UNKNOWN_STUDENT });

    const data = single(emitted, TOPICS.associationsConfirmed);
    expect(data).toMatchObject({ batch_id: BATCH_ID, class_id: CLASS_ID, course_code: 'ENG6', timeout_triggered: true });
    const rows = byEssay(data.associations);
    const byTimeout = { validation_method: 'timeout', validated_by: 'SYSTEM_TIMEOUT', validated_at: DUE_AT };
    expect(rows[E1]).toEqual({ essay_id: E1, student_id: S1, confidence_score: SUGGESTION_E1.confidence_score, ...byTimeout });
    expect(rows[E2]).toEqual({ essay_id: E2, student_id: S2, confidence_score: SUGGESTION_E2.confidence_score, ...byTimeout });
    expect(rows[E3]).toEqual({ essay_id: E3, student_id: UNKNOWN_STUDENT, confidence_score: 0, ...byTimeout });
    expect(data.validation_summary).toEqual({
      total_associations: 3,
      confirmed: 0,
      rejected: 0,
      timeout_confirmed: 2,
      no_match: 1,
      human_validated: 0,
      timeout_validated: 3,
    });
  });

  it('links essays without any suggestion to the UNKNOWN student with confidence 0', () => {
    const matches: SuggestedMatch[] = [match(E1, named(SUGGESTION_E1, 'A Student')), match(E2)];
    const { emitted } = accept(awaitingTeacher(matches), validationTimeout(1));
    const data = single(emitted, TOPICS.associationsConfirmed);
    const rows = byEssay(data.associations);
    expect(rows[E1]).toMatchObject({ student_id: S1, confidence_score: SUGGESTION_E1.confidence_score });
    expect(rows[E2]).toMatchObject({ student_id: UNKNOWN_STUDENT, confidence_score: 0, validation_method: 'timeout' });
    expect(rows[E3]).toMatchObject({ student_id: UNKNOWN_STUDENT, confidence_score: 0, validation_method: 'timeout' });
    expect(data.validation_summary).toMatchObject({ timeout_confirmed: 1, no_match: 2, timeout_validated: 3 });
  });

  it('keeps a suggestion scored exactly 0.7 and drops one scored just below', () => {
    const matches: SuggestedMatch[] = [
      match(E1, named({ ...SUGGESTION_E1, confidence_score: 0.7 }, 'A Student')),
      match(E2, named({ ...SUGGESTION_E2, confidence_score: 0.69 }, 'A Student')),
      match(E3, named(SUGGESTION_E3, 'A Student')),
    ];
    const { next } = accept(awaitingTeacher(matches), validationTimeout(1));
    expect(next.context.associations[E1]).toMatchObject({ validation_status: 'timeout_confirmed', student_id: S1 });
    expect(next.context.associations[E2]).toMatchObject({ validation_status: 'no_match', student_id: UNKNOWN_STUDENT });
  });

  it("keeps the teacher's decisions already made", () => {
    const decided = accept(awaitingTeacher(), teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT }), rejected(E3))).next;
    const { next, emitted } = accept(decided, validationTimeout(1, DUE_AT));
    expect(next.value).toBe('student_validation_completed');
    expect(next.context.associations[E1]).toEqual(decided.context.associations[E1]);
    expect(next.context.associations[E3]).toEqual(decided.context.associations[E3]);
    const data = single(emitted, TOPICS.associationsConfirmed);
    const rows = byEssay(data.associations);
    expect(rows[E1]).toMatchObject({
      student_id: OTHER_STUDENT,
      validation_method: 'human',
      validated_by: TEACHER,
      validated_at: DECIDED_AT,
    });
    expect(rows[E2]).toMatchObject({ student_id: S2, validation_method: 'timeout', validated_by: 'SYSTEM_TIMEOUT', validated_at: DUE_AT });
    expect(rows[E3]).toMatchObject({ student_id: null, validation_method: 'human', validated_by: TEACHER });
    expect(data.timeout_triggered).toBe(true);
    expect(data.validation_summary).toEqual({
      total_associations: 3,
      confirmed: 1,
      rejected: 1,
      timeout_confirmed: 1,
      no_match: 0,
      human_validated: 2,
      timeout_validated: 1,
    });
  });

  it('moves to a later time and takes a new version', () => {
    const { next, emitted } = accept(awaitingTeacher(), deadlineChanged(LATER_DUE_AT));
    expect(next.value).toEqual(AWAITING_TEACHER);
    expect(emitted).toEqual([]);
    expect(next.context.deadline).toEqual({ due_at: LATER_DUE_AT, version: 2 });
    expect(next.context.deadline_version).toBe(2);
  });

  it('counts versions on across several moves', () => {
    const once = accept(awaitingTeacher(), deadlineChanged(LATER_DUE_AT)).next;
    const twice = accept(once, deadlineChanged(DUE_AT)).next;
    expect(twice.context.deadline).toEqual({ due_at: DUE_AT, version: 3 });
  });

  it('refuses the timer of a deadline that has since been moved, and honours the new one', () => {
    const moved = accept(awaitingTeacher(), deadlineChanged(LATER_DUE_AT)).next;
    expectRefused(moved, validationTimeout(1, DUE_AT));
    expect(accept(moved, validationTimeout(2, LATER_DUE_AT)).next.value).toBe('student_validation_completed');
  });

  it('refuses a timeout for a deadline version that was never issued', () => {
    expectRefused(awaitingTeacher(), validationTimeout(0));
    expectRefused(awaitingTeacher(), validationTimeout(2));
  });

  it('refuses moving the deadline into the past', () => {
    expectRefused(awaitingTeacher(), deadlineChanged('2025-03-03T09:59:59.000Z', DECIDED_AT));
  });

  it('refuses moving the deadline to the very moment of the change', () => {
    expectRefused(awaitingTeacher(), deadlineChanged(DECIDED_AT, DECIDED_AT));
  });

  it('compares deadline times as instants, whatever their UTC offsets', () => {
    expectRefused(awaitingTeacher(), deadlineChanged('2025-03-03T10:30:00+01:00', '2025-03-03T10:00:00Z'));
    const { next } = accept(awaitingTeacher(), deadlineChanged('2025-03-03T09:30:00-01:00', '2025-03-03T10:00:00Z'));
    expect(next.context.deadline?.due_at).toBe('2025-03-03T09:30:00-01:00');
  });

  it('refuses a deadline that is not a time', () => {
    expectRefused(awaitingTeacher(), deadlineChanged('tomorrow morning'));
  });

  it('changes nothing when the deadline fires after the teacher has finished', () => {
    expectRefused(validationCompleted(), validationTimeout(1));
  });
});

describe('essays being stored', () => {
  it('makes a REGULAR batch with settled associations ready for pipelines', () => {
    const { next } = accept(validationCompleted(), essaysReady('REGULAR'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.essays_stored).toBe(true);
  });

  it('refuses stored essays reported for the wrong class type after validation', () => {
    expectRefused(validationCompleted(), essaysReady('GUEST'));
  });

  it('remembers essays stored while waiting for suggestions, without leaving validation', () => {
    const { next, emitted } = accept(awaitingSuggestions(), essaysReady('REGULAR'));
    expect(next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(next.context.essays_stored).toBe(true);
    expect(emitted).toEqual([]);
  });

  it('remembers essays stored while waiting for the teacher, without leaving validation', () => {
    const { next } = accept(awaitingTeacher(), essaysReady('REGULAR'));
    expect(next.value).toEqual(AWAITING_TEACHER);
    expect(next.context.essays_stored).toBe(true);
  });

  it('refuses a second early report of stored essays', () => {
    const stored = accept(awaitingSuggestions(), essaysReady('REGULAR')).next;
    expectRefused(stored, essaysReady('REGULAR'));
  });

  it('refuses early stored essays reported for the wrong class type', () => {
    expectRefused(awaitingSuggestions(), essaysReady('GUEST'));
    expectRefused(awaitingTeacher(), essaysReady('GUEST'));
  });

  it('goes straight to ready when the teacher finishes after the essays were stored', () => {
    const stored = accept(awaitingSuggestions(), essaysReady('REGULAR')).next;
    const suggested = accept(stored, authorMatches()).next;
    const { next, emitted } = accept(suggested, teacherDecisions(confirmed(E1), confirmed(E2), confirmed(E3)));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.deadline).toBeNull();
    expect(single(emitted, TOPICS.associationsConfirmed).validation_summary.confirmed).toBe(3);
  });

  it('goes straight to ready when the deadline settles a batch whose essays were stored', () => {
    const stored = accept(awaitingTeacher(), essaysReady('REGULAR')).next;
    const { next, emitted } = accept(stored, validationTimeout(1));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(single(emitted, TOPICS.associationsConfirmed).timeout_triggered).toBe(true);
  });
});

describe('pipeline requests', () => {
  it('commands spellcheck, the first phase of every real pipeline, and stays ready as the real orchestrator does', () => {
    const { next, emitted } = accept(regularReady(), pipelineRequested('cj_assessment'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.pipeline).toBe('cj_assessment');
    expect(next.context.prompt_payload).toEqual({ assignment_id: 'assignment-1' });
    expect(single(emitted, TOPICS.spellcheckCommand)).toEqual({
      event_name: 'batch.spellcheck.initiate.command',
      entity_id: BATCH_ID,
      entity_type: 'batch',
      parent_id: null,
      timestamp: DECIDED_AT,
      essays_to_process: ESSAYS,
      language: 'en',
    });
  });

  it("starts the pipeline of a ready GUEST batch in the course's language", () => {
    const { emitted } = accept(
      accept(registered({ class_id: null, course_code: 'SV1' }), contentProvisioned()).next,
      pipelineRequested('nlp'),
    );
    expect(single(emitted, TOPICS.spellcheckCommand).language).toBe('sv');
  });

  it('skips a request while a pipeline runs, as the real orchestrator does: nothing is sent', () => {
    const { next, emitted } = accept(pipelineRunning(), pipelineRequested('ai_feedback'));
    expect(next.context.pipeline).toBe('nlp');
    expect(next.context.skipped_pipeline_requests).toBe(1);
    expect(emitted).toEqual([]);
  });

  it('starts a later pipeline at its first phase not yet completed', () => {
    const done = accept(pipelineRunning(), phaseOutcome()).next;
    const { next, emitted } = accept(done, pipelineRequested('cj_assessment'));
    expect(next.context.pipeline).toBe('cj_assessment');
    expect(emitted.map((e) => e.type)).toEqual([TOPICS.cjAssessmentCommand, TOPICS.teacherNotification]);
    expect(next.context.pipeline_state?.phases.cj_assessment?.status).toBe('dispatch_initiated');
  });

  const beforeReady: Array<[string, () => BatchSnapshot]> = [
    ['the content is provisioned', registered],
    ['the matcher has suggested authors', awaitingSuggestions],
    ['the matcher has suggested authors, even with the essays stored', () => accept(awaitingSuggestions(), essaysReady('REGULAR')).next],
    ['the teacher has decided', awaitingTeacher],
    ['the teacher has decided, even with the essays stored', () => accept(awaitingTeacher(), essaysReady('REGULAR')).next],
    ['the essays are stored after validation', validationCompleted],
  ];

  it.each(beforeReady)('refuses a pipeline request before %s', (_when, reach) => {
    expectRefused(reach(), pipelineRequested());
  });
});

describe('GUEST batches and BatchEssaysReady', () => {
  it('accepts a BatchEssaysReady for a ready GUEST batch and changes nothing that matters', () => {
    const before = guestReady();
    const { next, emitted } = accept(before, essaysReady('GUEST'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(emitted).toEqual([]);
    expect(next.context.essays).toEqual(before.context.essays);
  });

  it('refuses a BatchEssaysReady claiming REGULAR for a GUEST batch', () => {
    expectRefused(guestReady(), essaysReady('REGULAR'));
  });
});

describe('validation errors from the essay lifecycle service', () => {
  it('fails the batch critically on a critical failure, a final state', () => {
    const { next, emitted } = accept(registered(), validationErrors(true, [E1, E2, E3]));
    expect(next.value).toBe('failed_critically');
    expect(next.status).toBe('done');
    expect(next.context.validation_errors).toBe(3);
    expect(emitted).toEqual([]);
  });

  it('records non-critical errors and stays, before and after provisioning', () => {
    const early = accept(registered(), validationErrors(false)).next;
    expect(early.value).toBe('awaiting_content_validation');
    expect(early.context.validation_errors).toBe(1);
    for (const reach of [awaitingSuggestions, awaitingTeacher, validationCompleted, regularReady, guestReady]) {
      const before = reach();
      const { next } = accept(before, validationErrors(false));
      expect(next.value).toEqual(before.value);
      expect(next.context.validation_errors).toBe(1);
    }
  });

  it('refuses a critical failure once the content is provisioned', () => {
    expectRefused(awaitingSuggestions(), validationErrors(true));
    expectRefused(regularReady(), validationErrors(true));
  });
});

describe('cancelling', () => {
  const cancellable: Array<[string, () => BatchSnapshot]> = [
    ['awaiting content', registered],
    ['a ready GUEST batch', guestReady],
    ['awaiting author suggestions', awaitingSuggestions],
    ['awaiting the teacher', awaitingTeacher],
    ['validation is completed', validationCompleted],
    ['ready for pipelines', regularReady],
  ];

  it.each(cancellable)('cancels a batch %s, with no deadline left and nothing emitted', (_when, reach) => {
    const { next, emitted } = accept(reach(), cancel());
    expect(next.value).toBe('cancelled');
    expect(next.status).toBe('done');
    expect(next.context.deadline).toBeNull();
    expect(emitted).toEqual([]);
  });

  it('clears the running deadline of a batch awaiting the teacher', () => {
    const before = awaitingTeacher();
    expect(before.context.deadline).not.toBeNull();
    const { next } = accept(before, cancel());
    expect(next.context.deadline).toBeNull();
  });
});

describe('refusals by state', () => {
  const ALL_TYPES: BatchEventType[] = [
    'CONTENT_PROVISIONED',
    'AUTHOR_MATCHES_SUGGESTED',
    'TEACHER_DECISIONS',
    'TEACHER_REOPENED',
    'TEACHER_CORRECTED',
    'VALIDATION_TIMEOUT',
    'DEADLINE_CHANGED',
    'ESSAYS_READY',
    'PIPELINE_REQUESTED',
    'PHASE_OUTCOME',
    'PROMPT_AMENDED',
    'VALIDATION_ERRORS',
    'CANCEL',
  ];
  const except = (...accepted: BatchEventType[]) => ALL_TYPES.filter((t) => !accepted.includes(t));

  /** An event of each type that some state of a batch of this class type would accept. */
  function acceptableEvent(type: BatchEventType, classType: ClassType): BatchEvent {
    switch (type) {
      case 'CONTENT_PROVISIONED':
        return contentProvisioned();
      case 'AUTHOR_MATCHES_SUGGESTED':
        return authorMatches();
      case 'TEACHER_DECISIONS':
        return teacherDecisions(confirmed(E1));
      case 'TEACHER_REOPENED':
        return teacherReopened(E1);
      case 'TEACHER_CORRECTED':
        return {
          type: type,
          at: DECIDED_AT,
          teacher_id: TEACHER,
          students: STUDENTS,
          corrections: [{ essay_id: E3, student_id: S3, student_in_class: true, reason: null }],
        };
      case 'VALIDATION_TIMEOUT':
        return validationTimeout(1);
      case 'DEADLINE_CHANGED':
        return deadlineChanged(LATER_DUE_AT);
      case 'ESSAYS_READY':
        return essaysReady(classType);
      case 'PIPELINE_REQUESTED':
        return pipelineRequested();
      case 'PHASE_OUTCOME':
        return phaseOutcome();
      case 'PROMPT_AMENDED':
        return promptAmended();
      case 'VALIDATION_ERRORS':
        return validationErrors(false);
      case 'CANCEL':
        return cancel();
    }
  }

  it('uses events that the states handling them do accept', () => {
    expect(accept(registered(), acceptableEvent('CONTENT_PROVISIONED', 'REGULAR')).next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(accept(awaitingSuggestions(), acceptableEvent('AUTHOR_MATCHES_SUGGESTED', 'REGULAR')).next.value).toEqual(AWAITING_TEACHER);
    for (const type of ['TEACHER_DECISIONS', 'VALIDATION_TIMEOUT', 'DEADLINE_CHANGED', 'ESSAYS_READY', 'CANCEL'] as const) {
      accept(awaitingTeacher(), acceptableEvent(type, 'REGULAR'));
    }
    accept(accept(awaitingTeacher(), teacherDecisions(confirmed(E1))).next, acceptableEvent('TEACHER_REOPENED', 'REGULAR'));
    accept(guestReady(), acceptableEvent('ESSAYS_READY', 'GUEST'));
    accept(regularReady(), acceptableEvent('PIPELINE_REQUESTED', 'REGULAR'));
    accept(regularReady(), acceptableEvent('TEACHER_CORRECTED', 'REGULAR'));
    accept(registered(), acceptableEvent('VALIDATION_ERRORS', 'REGULAR'));
  });

  const table: Array<[string, () => BatchSnapshot, StateValue, ClassType, BatchEventType[]]> = [
    [
      'awaiting_content_validation',
      registered,
      'awaiting_content_validation',
      'REGULAR',
      except('CONTENT_PROVISIONED', 'PROMPT_AMENDED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    ['content_ingestion_failed', ingestionFailed, 'content_ingestion_failed', 'REGULAR', ALL_TYPES],
    ['failed_critically', failedCritically, 'failed_critically', 'REGULAR', ALL_TYPES],
    [
      'awaiting_student_validation.awaiting_suggestions',
      awaitingSuggestions,
      AWAITING_SUGGESTIONS,
      'REGULAR',
      except('AUTHOR_MATCHES_SUGGESTED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'awaiting_student_validation.awaiting_teacher',
      awaitingTeacher,
      AWAITING_TEACHER,
      'REGULAR',
      except('TEACHER_DECISIONS', 'VALIDATION_TIMEOUT', 'DEADLINE_CHANGED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'student_validation_completed',
      validationCompleted,
      'student_validation_completed',
      'REGULAR',
      except('ESSAYS_READY', 'TEACHER_CORRECTED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution (REGULAR)',
      regularReady,
      'ready_for_pipeline_execution',
      'REGULAR',
      except('PIPELINE_REQUESTED', 'TEACHER_CORRECTED', 'PROMPT_AMENDED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution (GUEST)',
      guestReady,
      'ready_for_pipeline_execution',
      'GUEST',
      except('PIPELINE_REQUESTED', 'PROMPT_AMENDED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution with a pipeline requested',
      pipelineRunning,
      'ready_for_pipeline_execution',
      'REGULAR',
      except('PIPELINE_REQUESTED', 'PHASE_OUTCOME', 'PROMPT_AMENDED', 'VALIDATION_ERRORS'),
    ],
    ['cancelled', cancelledBatch, 'cancelled', 'REGULAR', ALL_TYPES],
  ];

  describe.each(table)('in %s', (_name, reach, value, classType, refused) => {
    it('is reached by its path', () => {
      expect(reach().value).toEqual(value);
    });

    it.each(refused)('refuses %s', (type) => {
      expectRefused(reach(), acceptableEvent(type, classType));
    });
  });
});

describe('persisted snapshots', () => {
  const roundTrip = <T>(value: T) => JSON.parse(JSON.stringify(value));

  it('restores a batch awaiting the teacher from JSON, and the deadline still settles it', () => {
    const before = accept(awaitingTeacher(), teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT }))).next;
    const restored = batchMachine.resolveState(roundTrip(before));
    expect(restored.value).toEqual(AWAITING_TEACHER);
    expect(restored.status).toBe('active');
    expect(restored.context).toEqual(before.context);

    const { next, emitted } = accept(restored, validationTimeout(1));
    expect(next.value).toBe('student_validation_completed');
    const rows = byEssay(single(emitted, TOPICS.associationsConfirmed).associations);
    expect(rows[E1]).toMatchObject({ student_id: OTHER_STUDENT, validation_method: 'human' });
    expect(rows[E2]).toMatchObject({ student_id: S2, validation_method: 'timeout' });
    expect(rows[E3]).toMatchObject({ student_id: UNKNOWN_STUDENT, confidence_score: 0 });
  });

  it("restores from the machine's persisted snapshot after a JSON round trip", () => {
    const before = awaitingTeacher();
    const restored = batchMachine.resolveState(roundTrip(batchMachine.getPersistedSnapshot(before)));
    expect(restored.value).toEqual(AWAITING_TEACHER);
    expect(restored.context).toEqual(before.context);
    const { next } = accept(restored, teacherDecisions(confirmed(E1), confirmed(E2), confirmed(E3)));
    expect(next.value).toBe('student_validation_completed');
  });

  it('keeps refusing on a restored snapshot what the original refused', () => {
    const restored = batchMachine.resolveState(roundTrip(accept(awaitingTeacher(), deadlineChanged(LATER_DUE_AT)).next));
    expectRefused(restored, validationTimeout(1));
    expectRefused(restored, pipelineRequested());
    expect(accept(restored, validationTimeout(2, LATER_DUE_AT)).next.value).toBe('student_validation_completed');
  });

  it('restores a ready batch that can then start its pipeline', () => {
    const restored = batchMachine.resolveState(roundTrip(regularReady()));
    expect(restored.value).toBe('ready_for_pipeline_execution');
    expect(single(accept(restored, pipelineRequested()).emitted, TOPICS.spellcheckCommand).entity_id).toBe(BATCH_ID);
  });

  it('restores a cancelled batch as done', () => {
    const restored = batchMachine.resolveState(roundTrip(cancelledBatch()));
    expect(restored.status).toBe('done');
    expectRefused(restored, cancel());
  });

  it('throws when asked to restore a state the chart does not have', () => {
    const context = registered().context;
    expect(() => batchMachine.resolveState({ value: 'awaiting_approval', context })).toThrow(/awaiting_approval/);
    expect(() => batchMachine.resolveState({ value: { awaiting_student_validation: 'awaiting_review' }, context })).toThrow(
      /awaiting_review/,
    );
  });
});

describe('what the deadline announces', () => {
  it('announces each association it decides, then the timeout outcome, then the confirmed associations', () => {
    const before = accept(awaitingTeacher(), teacherDecisions(confirmed(E1))).next;
    const { emitted } = accept(before, validationTimeout(1, '2025-03-04T08:05:00.000Z'));
    expect(emitted.map((e) => e.type)).toEqual([
      TOPICS.associationUpdated,
      TOPICS.associationUpdated,
      TOPICS.timeoutProcessed,
      TOPICS.teacherNotification,
      TOPICS.associationsConfirmed,
      TOPICS.teacherNotification,
    ]);
    const updates = emitted
      .filter((e) => e.type === TOPICS.associationUpdated)
      .map((e) => e.data as EmittedData<typeof TOPICS.associationUpdated>);
    expect(byEssay(updates)[E2]).toMatchObject({
      student_id: S2,
      association_method: 'timeout',
      created_by_user_id: 'SYSTEM_TIMEOUT',
      first_name: 'Student',
    });
    expect(byEssay(updates)[E3]).toMatchObject({ student_id: UNKNOWN_STUDENT, first_name: 'UNKNOWN', confidence_score: 0 });
    expect(single(emitted, TOPICS.timeoutProcessed)).toEqual({
      event_name: 'validation.timeout.processed',
      entity_id: BATCH_ID,
      entity_type: 'batch',
      parent_id: null,
      timestamp: '2025-03-04T08:05:00.000Z',
      batch_id: BATCH_ID,
      user_id: OWNER,
      timeout_hours: 24,
      auto_confirmed_associations: [
        {
          essay_id: E2,
          student_first_name: 'Student',
          student_last_name: 'Two',
          student_email: 's2@school.example',
          confidence_score: 0.75,
          is_confirmed: true,
        },
      ],
      guest_essays: [E3],
      guest_class_created: false,
      guest_class_id: null,
      processing_timestamp: '2025-03-04T08:05:00.000Z',
    });
  });
});
