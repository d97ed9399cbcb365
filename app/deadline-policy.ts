import { type DeadlineReason, type DeadlineRule, type SchoolCalendar, deadlineFor } from '../machines/school-calendar.ts';

/** How the validation deadline is counted, and the school calendar it counts in unless a class has its own. */
export interface DeadlinePolicy {
  rule: DeadlineRule;
  calendar: SchoolCalendar;
  /** The wall-clock length the `elapsed` rule uses, and the fallback when a calendar has no school day ahead. */
  validationTimeoutMs: number;
}

/** A Swedish school's week: Monday to Friday, 08:00–16:00 in Stockholm, no closures configured. */
export const DEFAULT_SCHOOL_CALENDAR: SchoolCalendar = {
  time_zone: 'Europe/Stockholm',
  school_days: [1, 2, 3, 4, 5],
  opens: '08:00',
  closes: '16:00',
  closed: [],
};

/** Plain wall-clock time: the service's behaviour unless configured to count school days. */
export function elapsedPolicy(validationTimeoutMs: number): DeadlinePolicy {
  return { rule: { kind: 'elapsed', ms: validationTimeoutMs }, calendar: DEFAULT_SCHOOL_CALENDAR, validationTimeoutMs };
}

/**
 * When the validation deadline of suggestions arriving at `at` falls, and why: the class's
 * calendar when it has one, else the service's. A calendar closed for more than a year has no
 * school day to count to; the wall-clock length applies then, and the reason says so.
 */
export function validationDeadline(
  at: string,
  policy: DeadlinePolicy,
  classCalendar: SchoolCalendar | null,
): { due_at: string; reason: DeadlineReason } {
  try {
    return deadlineFor(at, policy.rule, classCalendar ?? policy.calendar);
  } catch {
    return deadlineFor(at, { kind: 'elapsed', ms: policy.validationTimeoutMs }, policy.calendar);
  }
}
