import { describe, expect, it } from 'vitest';
import { type SuggestedMatch, TOPICS } from '../../../machines/events.ts';
import { BATCH_ID, CLASS_ID, OTHER_CLASS_ID, CORRELATION_ID, TEACHER, MATCHER, E1, E2, E3, FOREIGN_ESSAY, S1 } from './support.ts';
import { S2, S3, OTHER_STUDENT, SUGGESTED_AT, DUE_AT, DECIDED_AT, SUGGESTION_E1, SUGGESTION_E2, SUGGESTION_E3 } from './support.ts';
import { named, match, MATCHES, authorMatches, teacherDecisions, confirmed, rejected, accept, expectRefused } from './support.ts';
import { single, besidesUpdates, byEssay, awaitingSuggestions, awaitingTeacher, AWAITING_TEACHER } from './support.ts';

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
