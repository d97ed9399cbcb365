import { describe, expect, it } from 'vitest';
import {
  AWAITING_TEACHER,
  DECIDED_AT,
  DUE_AT,
  E1,
  E2,
  E3,
  LATER_DUE_AT,
  PAUSE_UNTIL,
  TEACHER,
  accept,
  awaitingTeacher,
  confirmed,
  deadlineChanged,
  expectRefused,
  rejected,
  teacherDecisions,
  validationPaused,
  validationResumed,
  validationTimeout,
} from './support.ts';

const HOUR = 3_600_000;
/** The deadline (DUE_AT) is 22 h 05 min after the pause (DECIDED_AT). */
const REMAINING = Date.parse(DUE_AT) - Date.parse(DECIDED_AT);
const later = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

describe('pausing the validation deadline', () => {
  it('keeps the time left, drops the pending deadline and emits nothing', () => {
    const { next, emitted } = accept(awaitingTeacher(), validationPaused());
    expect(next.value).toEqual(AWAITING_TEACHER);
    expect(emitted).toEqual([]);
    expect(next.context.deadline).toBeNull();
    expect(next.context.pause).toEqual({
      paused_at: DECIDED_AT,
      by: TEACHER,
      until: null,
      remaining_ms: REMAINING,
      paused_due_at: DUE_AT,
      reason: 'on sick leave',
    });
  });

  it("with an end, makes the pause's end the pending deadline of a new version", () => {
    const { next } = accept(awaitingTeacher(), validationPaused(PAUSE_UNTIL));
    expect(next.context.deadline).toEqual({ due_at: PAUSE_UNTIL, version: 2 });
    expect(next.context.deadline_version).toBe(2);
    expect(next.context.pause).toMatchObject({ until: PAUSE_UNTIL, remaining_ms: REMAINING });
  });

  it('refuses a timeout while paused: the old timer is stale, and the current version does not fire either', () => {
    const paused = accept(awaitingTeacher(), validationPaused()).next;
    expectRefused(paused, validationTimeout(1));
    const until = accept(awaitingTeacher(), validationPaused(PAUSE_UNTIL)).next;
    expectRefused(until, validationTimeout(1));
    expectRefused(until, validationTimeout(2, PAUSE_UNTIL));
  });

  it('refuses a second pause, a pause after the deadline is due, and an end not ahead', () => {
    expectRefused(accept(awaitingTeacher(), validationPaused()).next, validationPaused());
    expectRefused(awaitingTeacher(), validationPaused(null, DUE_AT));
    expectRefused(awaitingTeacher(), validationPaused(DECIDED_AT));
  });

  it('refuses moving a paused deadline: it is resumed first', () => {
    expectRefused(accept(awaitingTeacher(), validationPaused()).next, deadlineChanged(LATER_DUE_AT));
  });

  it('lets the teacher decide while paused; settling ends the pause with the validation', () => {
    const paused = accept(awaitingTeacher(), validationPaused(PAUSE_UNTIL)).next;
    const { next } = accept(paused, teacherDecisions(confirmed(E1), confirmed(E2), rejected(E3)));
    expect(next.value).toBe('student_validation_completed');
    expect(next.context.pause).toBeNull();
    expect(next.context.deadline).toBeNull();
  });
});

describe('resuming the validation deadline', () => {
  it('sets a new deadline the time left after the resume', () => {
    const paused = accept(awaitingTeacher(), validationPaused()).next;
    const resumedAt = later(DECIDED_AT, 48 * HOUR);
    const { next, emitted } = accept(paused, validationResumed(null, resumedAt));
    expect(emitted).toEqual([]);
    expect(next.context.pause).toBeNull();
    expect(next.context.deadline).toEqual({ due_at: later(resumedAt, REMAINING), version: 2 });
  });

  it("resumes by itself at the pause's end, counting from the end even when fired late", () => {
    const paused = accept(awaitingTeacher(), validationPaused(PAUSE_UNTIL)).next;
    const { next } = accept(paused, validationResumed(2, later(PAUSE_UNTIL, 90_000)));
    expect(next.context.pause).toBeNull();
    expect(next.context.deadline).toEqual({ due_at: later(PAUSE_UNTIL, REMAINING), version: 3 });
    // The resumed deadline fires as any other: its version, and only its version.
    expectRefused(next, validationTimeout(2));
    expect(accept(next, validationTimeout(3)).next.value).toBe('student_validation_completed');
  });

  it("refuses a resume when nothing is paused, and a stale pause's end", () => {
    expectRefused(awaitingTeacher(), validationResumed());
    const paused = accept(awaitingTeacher(), validationPaused(PAUSE_UNTIL)).next;
    const resumed = accept(paused, validationResumed()).next;
    expectRefused(resumed, validationResumed(2, PAUSE_UNTIL));
    // Paused again without an end: the first pause's end (version 2) is stale.
    const again = accept(resumed, validationPaused()).next;
    expectRefused(again, validationResumed(2, PAUSE_UNTIL));
  });
});
