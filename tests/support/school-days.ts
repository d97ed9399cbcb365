/** Friday 4 December 2026, 15:05 in Stockholm: the clock of the school-day deadline tests. */
export const FRIDAY_1505 = Date.parse('2026-12-04T14:05:00.000Z');

/**
 * Why a deadline counted from Friday 4 December 2026, 15:05 in Stockholm, one school day on, falls
 * on Monday 7 December at the same time: the weekend is passed over.
 */
export const FRIDAY_TO_MONDAY = {
  rule: 'school_days',
  days: 1,
  time_zone: 'Europe/Stockholm',
  local: '2026-12-07 15:05',
  skipped: [
    { date: '2026-12-05', why: 'not_a_school_day' },
    { date: '2026-12-06', why: 'not_a_school_day' },
  ],
  moved_to: null,
};
