import { type SnapshotFrom, initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  type AssociationEvent,
  type AssociationInput,
  type AssociationRecord,
  associationMachine,
  canStepAssociation,
  newAssociation,
  stepAssociation,
} from '../../machines/association.ts';

type AssociationSnapshot = SnapshotFrom<typeof associationMachine>;

const ESSAY_ID = '0b9e4c8e-0000-4000-8000-0000000000e1';
const BATCH_ID = '0b9e4c8e-0000-4000-8000-0000000000ba';
const CLASS_ID = '0b9e4c8e-0000-4000-8000-0000000000c1';
const SUGGESTED_STUDENT = '0b9e4c8e-0000-4000-8000-0000000000a1';
const OTHER_STUDENT = '0b9e4c8e-0000-4000-8000-0000000000a2';
const UNKNOWN_STUDENT = '0b9e4c8e-0000-4000-8000-00000000a0a0';
const TEACHER = 'teacher-1';
const CREATED_AT = '2025-03-01T08:00:00.000Z';
const DECIDED_AT = '2025-03-01T09:30:00.000Z';
const DEADLINE_AT = '2025-03-02T08:00:00.000Z';

function input(overrides: Partial<AssociationInput> = {}): AssociationInput {
  return {
    essay_id: ESSAY_ID,
    batch_id: BATCH_ID,
    class_id: CLASS_ID,
    text_storage_id: 'storage-e1',
    created_by_user_id: 'nlp-matcher',
    created_at: CREATED_AT,
    suggested_student_id: SUGGESTED_STUDENT,
    confidence_score: 0.82,
    match_reasons: ['name in header'],
    ...overrides,
  };
}

const noSuggestion = { suggested_student_id: null, confidence_score: null, match_reasons: null };

function pending(overrides: Partial<AssociationInput> = {}): AssociationSnapshot {
  const [snapshot] = initialTransition(associationMachine, input(overrides));
  return snapshot;
}

const confirm = (fields: { student_id?: string; student_in_class?: boolean } = {}): AssociationEvent => ({
  type: 'CONFIRM',
  at: DECIDED_AT,
  by: TEACHER,
  student_in_class: fields.student_in_class ?? true,
  ...(fields.student_id === undefined ? {} : { student_id: fields.student_id }),
});
const reject: AssociationEvent = { type: 'REJECT', at: DECIDED_AT, by: TEACHER };
const timeout: AssociationEvent = { type: 'TIMEOUT', at: DEADLINE_AT, unknown_student_id: UNKNOWN_STUDENT };

function accept(snapshot: AssociationSnapshot, event: AssociationEvent): AssociationSnapshot {
  const [next, actions] = transition(associationMachine, snapshot, event);
  expect(next).not.toBe(snapshot);
  expect(actions).toEqual([]);
  return next;
}

function expectRefused(snapshot: AssociationSnapshot, event: AssociationEvent): void {
  const [next, actions] = transition(associationMachine, snapshot, event);
  expect(next).toBe(snapshot);
  expect(actions).toEqual([]);
}

/**
 * A state decided by the teacher at `at`, linking `studentId`, with the matcher's suggestion kept visible.
 * Not final: the teacher may reopen it while the batch waits.
 */
function expectTeacherDecision(
  next: AssociationSnapshot,
  state: 'confirmed' | 'rejected',
  studentId: string | null,
  at: string = DECIDED_AT,
): void {
  expect(next.value).toBe(state);
  expect(next.status).toBe('active');
  expect(next.context).toMatchObject({
    student_id: studentId,
    suggested_student_id: SUGGESTED_STUDENT,
    validation_method: 'human',
    validated_by: TEACHER,
    validated_at: at,
  });
}

const DETAILS = {
  filename: 'essay.docx',
  suggestions: [
    {
      student_id: '5d2a7f10-0000-4000-8000-0000000000a1',
      student_name: 'Astrid Lind',
      student_email: null,
      confidence_score: 0.95,
      match_reasons: ['name in header'],
    },
  ],
};

describe('a new association', () => {
  it('starts pending with the suggested student as its author and nothing validated', () => {
    const snapshot = pending();
    expect(snapshot.value).toBe('pending_validation');
    expect(snapshot.status).toBe('active');
    expect(snapshot.context).toEqual({
      ...input(),
      student_id: SUGGESTED_STUDENT,
      confidence_level: 'medium',
      validation_method: null,
      validated_by: null,
      validated_at: null,
    });
  });

  it('grades a suggestion above 0.9 as high confidence', () => {
    expect(pending({ confidence_score: 0.93 }).context.confidence_level).toBe('high');
  });

  it('grades a suggestion below 0.7 as low confidence', () => {
    expect(pending({ confidence_score: 0.41 }).context.confidence_level).toBe('low');
  });

  it('has no author and confidence no_match when the matcher suggested nobody', () => {
    const context = pending(noSuggestion).context;
    expect(context.student_id).toBeNull();
    expect(context.confidence_level).toBe('no_match');
  });

  it('grades confidence no_match when a score arrives without a suggested student', () => {
    expect(pending({ suggested_student_id: null, confidence_score: 0.95 }).context.confidence_level).toBe('no_match');
  });

  it('is kept as a pending_validation record by newAssociation', () => {
    expect(newAssociation(input(), DETAILS)).toEqual({ ...pending().context, validation_status: 'pending_validation', ...DETAILS });
  });
});

describe('the teacher confirming', () => {
  it('confirms the suggested student when no other student is named', () => {
    const next = accept(pending(), confirm());
    expectTeacherDecision(next, 'confirmed', SUGGESTED_STUDENT);
  });

  it('corrects the author to another student of the class and keeps the suggestion visible', () => {
    const next = accept(pending(), confirm({ student_id: OTHER_STUDENT }));
    expect(next.value).toBe('confirmed');
    expect(next.context).toMatchObject({
      student_id: OTHER_STUDENT,
      suggested_student_id: SUGGESTED_STUDENT,
      confidence_score: 0.82,
      validation_method: 'human',
      validated_by: TEACHER,
      validated_at: DECIDED_AT,
    });
  });

  it('names a student for an essay the matcher found no author for', () => {
    const next = accept(pending(noSuggestion), confirm({ student_id: OTHER_STUDENT }));
    expect(next.value).toBe('confirmed');
    expect(next.context.student_id).toBe(OTHER_STUDENT);
    expect(next.context.suggested_student_id).toBeNull();
  });

  it('refuses a confirmation naming a student outside the class', () => {
    expectRefused(pending(), confirm({ student_id: OTHER_STUDENT, student_in_class: false }));
  });

  it('refuses a confirmation of a suggested student who is not in the class', () => {
    expectRefused(pending(), confirm({ student_in_class: false }));
  });

  it('refuses a confirmation that names nobody when the matcher suggested nobody', () => {
    expectRefused(pending(noSuggestion), confirm());
  });
});

describe('the teacher rejecting', () => {
  it('unlinks the suggested student and records the teacher', () => {
    const next = accept(pending(), reject);
    expectTeacherDecision(next, 'rejected', null);
  });

  it('accepts a rejection of an essay the matcher found no author for', () => {
    expect(accept(pending(noSuggestion), reject).value).toBe('rejected');
  });
});

describe('the deadline passing', () => {
  it('keeps a suggestion scored at or above 0.7 as timeout_confirmed by SYSTEM_TIMEOUT', () => {
    const next = accept(pending({ confidence_score: 0.82 }), timeout);
    expect(next.value).toBe('timeout_confirmed');
    expect(next.status).toBe('active'); // v3: the teacher may correct it after validation
    expect(next.context).toMatchObject({
      student_id: SUGGESTED_STUDENT,
      confidence_score: 0.82,
      validation_method: 'timeout',
      validated_by: 'SYSTEM_TIMEOUT',
      validated_at: DEADLINE_AT,
    });
  });

  it('keeps a suggestion scored exactly 0.7', () => {
    const next = accept(pending({ confidence_score: 0.7 }), timeout);
    expect(next.value).toBe('timeout_confirmed');
    expect(next.context.student_id).toBe(SUGGESTED_STUDENT);
  });

  it('links the UNKNOWN student when the suggestion scored below 0.7', () => {
    const next = accept(pending({ confidence_score: 0.69 }), timeout);
    expect(next.value).toBe('no_match');
    expect(next.context).toMatchObject({
      student_id: UNKNOWN_STUDENT,
      suggested_student_id: SUGGESTED_STUDENT,
      validation_method: 'timeout',
      validated_by: 'SYSTEM_TIMEOUT',
      validated_at: DEADLINE_AT,
    });
  });

  it('links the UNKNOWN student when the matcher suggested nobody', () => {
    const next = accept(pending(noSuggestion), timeout);
    expect(next.value).toBe('no_match');
    expect(next.context.student_id).toBe(UNKNOWN_STUDENT);
  });

  it('links the UNKNOWN student when a high score arrived without a suggested student', () => {
    const next = accept(pending({ suggested_student_id: null, confidence_score: 0.95 }), timeout);
    expect(next.value).toBe('no_match');
    expect(next.context.student_id).toBe(UNKNOWN_STUDENT);
  });

  it('links the UNKNOWN student when a suggestion arrived without a score', () => {
    const next = accept(pending({ confidence_score: null }), timeout);
    expect(next.value).toBe('no_match');
    expect(next.context.student_id).toBe(UNKNOWN_STUDENT);
  });
});

describe('a settled association', () => {
  const settled: Array<[string, () => AssociationSnapshot]> = [
    ['confirmed', () => accept(pending(), confirm())],
    ['rejected', () => accept(pending(), reject)],
    ['timeout_confirmed', () => accept(pending({ confidence_score: 0.9 }), timeout)],
    ['no_match', () => accept(pending({ confidence_score: 0.2 }), timeout)],
  ];
  const laterEvents: Array<[string, AssociationEvent]> = [
    ['a confirmation', confirm()],
    ['a correction', confirm({ student_id: OTHER_STUDENT })],
    ['a rejection', reject],
    ['the deadline', timeout],
  ];

  describe.each(settled)('once %s', (state, reach) => {
    it('is in that state', () => {
      expect(reach().value).toBe(state);
    });

    it.each(laterEvents)('refuses %s', (_name, event) => {
      expectRefused(reach(), event);
    });
  });
});

describe('the teacher reopening', () => {
  const reopen: AssociationEvent = { type: 'REOPEN', at: DEADLINE_AT, by: TEACHER };

  it.each([
    ['a confirmation', () => accept(pending(), confirm())],
    ['a correction', () => accept(pending(), confirm({ student_id: OTHER_STUDENT }))],
    ['a rejection', () => accept(pending(), reject)],
  ])('takes back %s: pending again, the suggestion the author again, nothing validated', (_name, reach) => {
    const next = accept(reach(), reopen);
    expect(next.value).toBe('pending_validation');
    expect(next.context).toMatchObject({
      student_id: SUGGESTED_STUDENT,
      suggested_student_id: SUGGESTED_STUDENT,
      validation_method: null,
      validated_by: null,
      validated_at: null,
    });
  });

  it('leaves no author on a reopened essay the matcher found none for', () => {
    const next = accept(accept(pending(noSuggestion), reject), reopen);
    expect(next.context.student_id).toBeNull();
  });

  it('lets the reopened association be decided again, by the teacher or by the deadline', () => {
    const reopened = accept(accept(pending(), reject), reopen);
    expectTeacherDecision(accept(reopened, confirm({ student_id: OTHER_STUDENT })), 'confirmed', OTHER_STUDENT);
    expect(accept(reopened, timeout).value).toBe('timeout_confirmed');
  });

  it.each([
    ['pending', () => pending()],
    ['timeout_confirmed', () => accept(pending({ confidence_score: 0.9 }), timeout)],
    ['no_match', () => accept(pending({ confidence_score: 0.2 }), timeout)],
  ])('refuses to reopen %s: only a teacher decision can be taken back', (_name, reach) => {
    expectRefused(reach(), reopen);
  });
});

describe('stepAssociation and canStepAssociation', () => {
  const record: AssociationRecord = newAssociation(input(), DETAILS);

  it("keeps the matcher's filename and suggestions through a step", () => {
    const result = stepAssociation(record, confirm());
    expect(result.record.filename).toBe(DETAILS.filename);
    expect(result.record.suggestions).toEqual(DETAILS.suggestions);
  });

  it('steps a pending record to its new status', () => {
    const result = stepAssociation(record, confirm({ student_id: OTHER_STUDENT }));
    expect(result.accepted).toBe(true);
    expect(result.record).toMatchObject({
      validation_status: 'confirmed',
      student_id: OTHER_STUDENT,
      validated_by: TEACHER,
    });
  });

  it('leaves the record untouched and says so when the event is refused', () => {
    const result = stepAssociation(record, confirm({ student_in_class: false }));
    expect(result.accepted).toBe(false);
    expect(result.record).toBe(record);
  });

  it('refuses any decision on a record that is already settled', () => {
    const rejected = stepAssociation(record, reject).record;
    expect(rejected.validation_status).toBe('rejected');
    const again = stepAssociation(rejected, timeout);
    expect(again.accepted).toBe(false);
    expect(again.record).toBe(rejected);
  });

  it('tells whether a record would accept an event, guards included', () => {
    expect(canStepAssociation(record, confirm())).toBe(true);
    expect(canStepAssociation(record, confirm({ student_in_class: false }))).toBe(false);
    expect(canStepAssociation(newAssociation(input(noSuggestion), { filename: null, suggestions: [] }), confirm())).toBe(false);
    expect(canStepAssociation(stepAssociation(record, reject).record, reject)).toBe(false);
  });
});

describe('the teacher correcting a decision after validation (v3)', () => {
  const correct = (student_id: string, student_in_class = true): AssociationEvent => ({
    type: 'CORRECT',
    at: DEADLINE_AT,
    by: TEACHER,
    student_id,
    student_in_class,
  });
  const decided: Array<[string, () => AssociationSnapshot]> = [
    ['confirmed', () => accept(pending(), confirm())],
    ['rejected', () => accept(pending(), reject)],
    ['timeout_confirmed', () => accept(pending({ confidence_score: 0.9 }), timeout)],
    ['no_match', () => accept(pending({ confidence_score: 0.2 }), timeout)],
  ];

  it.each(decided)('corrects %s to another student of the class: confirmed by the teacher, the suggestion kept', (_name, reach) => {
    expectTeacherDecision(accept(reach(), correct(OTHER_STUDENT)), 'confirmed', OTHER_STUDENT, DEADLINE_AT);
  });

  it.each(decided)('refuses to correct %s to a student outside the class', (_name, reach) => {
    expectRefused(reach(), correct(OTHER_STUDENT, false));
  });

  it('refuses a correction to the student the association already has', () => {
    expectRefused(accept(pending(), confirm()), correct(SUGGESTED_STUDENT));
    expectRefused(accept(pending({ confidence_score: 0.9 }), timeout), correct(SUGGESTED_STUDENT));
  });

  it('refuses to correct a pending association: that is a decision', () => {
    expectRefused(pending(), correct(OTHER_STUDENT));
  });
});
