import { describe, expect, it } from 'vitest';
import { type SchoolCalendar, calendarProblems, deadlineFor, instantOf } from '../../machines/school-calendar.ts';
import { FRIDAY_TO_MONDAY } from '../support/school-days.ts';

/** A Swedish school: Monday to Friday, 08:00–16:00 in Stockholm, autumn break in week 44 of 2026. */
const SWEDISH: SchoolCalendar = {
  time_zone: 'Europe/Stockholm',
  school_days: [1, 2, 3, 4, 5],
  opens: '08:00',
  closes: '16:00',
  closed: [
    { from: '2026-10-26', to: '2026-10-30', name: 'Höstlov' },
    { from: '2026-12-24', to: '2026-12-24' },
  ],
};
const nextSchoolDay = { kind: 'school_days', days: 1 } as const;

describe('deadlines in school time', () => {
  it('keeps the plain 24 hours under the elapsed rule', () => {
    expect(deadlineFor('2026-12-04T14:05:00.000Z', { kind: 'elapsed', ms: 86_400_000 }, SWEDISH)).toEqual({
      due_at: '2026-12-05T14:05:00.000Z',
      reason: { rule: 'elapsed', hours: 24 },
    });
  });

  it('moves a Friday afternoon upload to Monday at the same time, passing over the weekend', () => {
    // Friday 4 December 2026, 15:05 in Stockholm (UTC+1).
    const { due_at, reason } = deadlineFor('2026-12-04T14:05:00.000Z', nextSchoolDay, SWEDISH);
    expect(due_at).toBe('2026-12-07T14:05:00.000Z');
    expect(reason).toEqual(FRIDAY_TO_MONDAY);
  });

  it('never falls at night: an evening upload is due at closing time, an early one at opening time', () => {
    // Thursday 3 December, 21:30 local → Friday 16:00 local.
    const late = deadlineFor('2026-12-03T20:30:00.000Z', nextSchoolDay, SWEDISH);
    expect(late.due_at).toBe('2026-12-04T15:00:00.000Z');
    expect(late.reason).toMatchObject({ local: '2026-12-04 16:00', moved_to: 'closing' });
    // Monday 7 December, 06:10 local → Tuesday 08:00 local.
    const early = deadlineFor('2026-12-07T05:10:00.000Z', nextSchoolDay, SWEDISH);
    expect(early.due_at).toBe('2026-12-08T07:00:00.000Z');
    expect(early.reason).toMatchObject({ local: '2026-12-08 08:00', moved_to: 'opening' });
  });

  it('passes over closed days, naming the closure', () => {
    // Friday 23 October 2026, 10:00 local (CEST, UTC+2): the week after is Höstlov → Monday 2 November.
    const { due_at, reason } = deadlineFor('2026-10-23T08:00:00.000Z', nextSchoolDay, SWEDISH);
    // Summer time ended on 25 October: 10:00 local on 2 November is 09:00 UTC.
    expect(due_at).toBe('2026-11-02T09:00:00.000Z');
    expect(reason).toMatchObject({ local: '2026-11-02 10:00' });
    expect((reason as { skipped: unknown[] }).skipped).toEqual([
      { date: '2026-10-24', why: 'not_a_school_day' },
      { date: '2026-10-25', why: 'not_a_school_day' },
      { date: '2026-10-26', why: 'closed', name: 'Höstlov' },
      { date: '2026-10-27', why: 'closed', name: 'Höstlov' },
      { date: '2026-10-28', why: 'closed', name: 'Höstlov' },
      { date: '2026-10-29', why: 'closed', name: 'Höstlov' },
      { date: '2026-10-30', why: 'closed', name: 'Höstlov' },
      { date: '2026-10-31', why: 'not_a_school_day' },
      { date: '2026-11-01', why: 'not_a_school_day' },
    ]);
  });

  it('keeps the local time across the change to summer time', () => {
    // Friday 27 March 2026, 15:00 CET (UTC+1); clocks go forward on Sunday 29 March → Monday 15:00 CEST (UTC+2).
    expect(deadlineFor('2026-03-27T14:00:00.000Z', nextSchoolDay, SWEDISH).due_at).toBe('2026-03-30T13:00:00.000Z');
  });

  it('counts several school days', () => {
    // Wednesday 23 December 2026, 12:00 local; the 24th is closed, then the weekend: 25th (Fri), 28th, 29th.
    const { due_at } = deadlineFor('2026-12-23T11:00:00.000Z', { kind: 'school_days', days: 3 }, SWEDISH);
    expect(due_at).toBe('2026-12-29T11:00:00.000Z');
  });

  it('works in another time zone and school week', () => {
    // A Sunday-to-Thursday school in Dubai (UTC+4, no summer time): Thursday 14:00 → Sunday 14:00.
    const gulf: SchoolCalendar = { time_zone: 'Asia/Dubai', school_days: [7, 1, 2, 3, 4], opens: '07:30', closes: '15:00', closed: [] };
    expect(deadlineFor('2026-12-03T10:00:00.000Z', nextSchoolDay, gulf).due_at).toBe('2026-12-06T10:00:00.000Z');
  });

  it('says so, instead of looping, when the calendar has no school day ahead', () => {
    const closedForever = { ...SWEDISH, closed: [{ from: '2026-01-01', to: '2030-12-31', name: 'Renovation' }] };
    expect(() => deadlineFor('2026-12-04T14:05:00.000Z', nextSchoolDay, closedForever)).toThrow(
      'no school day within 400 days of 2026-12-04',
    );
  });

  it('finds the instant of a local time, one hour on where the clock skips it', () => {
    expect(new Date(instantOf('2026-12-07', 15 * 60 + 5, 'Europe/Stockholm')).toISOString()).toBe('2026-12-07T14:05:00.000Z');
    // 02:30 on 29 March 2026 does not exist in Stockholm; the wall clock then reads 03:30 CEST = 01:30 UTC.
    expect(new Date(instantOf('2026-03-29', 2 * 60 + 30, 'Europe/Stockholm')).toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });
});

describe('calendar problems', () => {
  it('accepts a sound calendar', () => {
    expect(calendarProblems(SWEDISH)).toEqual([]);
  });

  it('names each problem by its path', () => {
    expect(
      calendarProblems({
        time_zone: 'Europe/Gothenburg',
        school_days: [],
        opens: '16:00',
        closes: '08:00',
        closed: [
          { from: '2026-02-30', to: '2026-03-01' },
          { from: '2026-03-05', to: '2026-03-01' },
        ],
      }),
    ).toEqual([
      { path: 'time_zone', message: 'not an IANA time zone: Europe/Gothenburg' },
      { path: 'school_days', message: 'a school week needs at least one day' },
      { path: 'closes', message: 'must be after opens' },
      { path: 'closed.0.from', message: 'expected a date YYYY-MM-DD' },
      { path: 'closed.1.to', message: 'must not be before the first day (from)' },
    ]);
  });
});
