import { describe, expect, it } from 'vitest';
import { type SuggestedMatch, TOPICS } from '../../../machines/events.ts';
import { type EmittedData, BATCH_ID, CLASS_ID, OWNER, TEACHER, E1, E2, E3, S1, S2, OTHER_STUDENT } from './support.ts';
import { UNKNOWN_STUDENT, DUE_AT, DECIDED_AT, LATER_DUE_AT, SUGGESTION_E1, SUGGESTION_E2, SUGGESTION_E3 } from './support.ts';
import { named, match, teacherDecisions, confirmed, rejected, validationTimeout, deadlineChanged } from './support.ts';
import { DEADLINE_DECIDES_TWO } from '../../support/topics.ts';
import { accept, expectRefused, single, byEssay, awaitingTeacher, validationCompleted, AWAITING_TEACHER } from './support.ts';

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

describe('what the deadline announces', () => {
  it('announces each association it decides, then the timeout outcome, then the confirmed associations', () => {
    const before = accept(awaitingTeacher(), teacherDecisions(confirmed(E1))).next;
    const { emitted } = accept(before, validationTimeout(1, '2025-03-04T08:05:00.000Z'));
    expect(emitted.map((e) => e.type)).toEqual(DEADLINE_DECIDES_TWO);
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
