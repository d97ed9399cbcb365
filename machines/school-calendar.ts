/**
 * School time: when a validation deadline falls, counted in a school's days instead of wall-clock
 * hours. Pure (no clock, no I/O); time zones through the platform's Intl data.
 */

/** A school's week and closures, in its own time zone. Dates are local `YYYY-MM-DD`. */
export interface SchoolCalendar {
  time_zone: string;
  /** ISO weekdays the school is open: 1 = Monday … 7 = Sunday. */
  school_days: number[];
  /** Local opening and closing time, `HH:MM`: a deadline never falls outside them. */
  opens: string;
  closes: string;
  /** Holidays and breaks, each a day or an inclusive range of days. */
  closed: ClosedDays[];
}

export interface ClosedDays {
  from: string;
  to: string;
  name?: string;
}

/**
 * How the deadline is counted: wall-clock time after the suggestions arrive, or the same local time
 * `days` school days later, moved into opening hours.
 */
export type DeadlineRule = { kind: 'elapsed'; ms: number } | { kind: 'school_days'; days: number };

/** Why a deadline falls when it does, for the teacher and the API. */
export type DeadlineReason =
  | { rule: 'elapsed'; hours: number }
  | {
      rule: 'school_days';
      days: number;
      time_zone: string;
      /** The local date and time the deadline falls on. */
      local: string;
      /** Days passed over: not a school day, or closed (with the closure's name). */
      skipped: Array<{ date: string; why: 'not_a_school_day' | 'closed'; name?: string }>;
      /** Set when the time of day was moved into opening hours. */
      moved_to: 'opening' | 'closing' | null;
      /** Set when the deadline was moved because this teacher changed the class's calendar. */
      calendar_changed_by?: string;
    }
  /** Moved by a teacher: an extension, or a new time. */
  | { rule: 'moved'; by: string }
  /** Resumed after a pause: the time the deadline had left when paused, counted again from the resume. */
  | { rule: 'resumed'; by: string; remaining_ms: number };

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** What is wrong with a calendar, as `path: message` pairs; empty when it is usable. */
export function calendarProblems(c: SchoolCalendar): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  try {
    new Intl.DateTimeFormat('en', { timeZone: c.time_zone });
  } catch {
    problems.push({ path: 'time_zone', message: `not an IANA time zone: ${c.time_zone}` });
  }
  if (c.school_days.length === 0) problems.push({ path: 'school_days', message: 'a school week needs at least one day' });
  if (!HH_MM.test(c.opens)) problems.push({ path: 'opens', message: 'expected HH:MM' });
  if (!HH_MM.test(c.closes)) problems.push({ path: 'closes', message: 'expected HH:MM' });
  if (HH_MM.test(c.opens) && HH_MM.test(c.closes) && c.opens >= c.closes) {
    problems.push({ path: 'closes', message: 'must be after opens' });
  }
  c.closed.forEach((d, i) => {
    if (!validDate(d.from)) problems.push({ path: `closed.${i}.from`, message: 'expected a date YYYY-MM-DD' });
    if (!validDate(d.to)) problems.push({ path: `closed.${i}.to`, message: 'expected a date YYYY-MM-DD' });
    if (validDate(d.from) && validDate(d.to) && d.to < d.from)
      problems.push({ path: `closed.${i}.to`, message: 'must not be before the first day (from)' });
  });
  return problems;
}

function validDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

interface Local {
  date: string;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in `timeZone` at `instant` (ms). */
function localAt(instant: number, timeZone: string): Local & { seconds: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return {
    date,
    weekday: ((new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7) + 1,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
    seconds: Number(parts.second),
  };
}

/** The offset of `timeZone` from UTC at `instant`, in ms (local − UTC). */
function offsetAt(instant: number, timeZone: string): number {
  const l = localAt(instant, timeZone);
  const [y, m, d] = l.date.split('-').map(Number) as [number, number, number];
  const asUtc = Date.UTC(y, m - 1, d, Math.floor(l.minutes / 60), l.minutes % 60, l.seconds);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant of a local date and time in `timeZone`. A time that does not exist locally (the hour
 * skipped when clocks go forward) comes out one hour later, as the wall clock then reads.
 */
export function instantOf(date: string, minutes: number, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  let instant = wall - offsetAt(wall, timeZone);
  instant = wall - offsetAt(instant, timeZone);
  return instant;
}

const nextDate = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
const weekdayOf = (date: string) => ((new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

function closureOf(calendar: SchoolCalendar, date: string): ClosedDays | undefined {
  return calendar.closed.find((c) => c.from <= date && date <= c.to);
}

/** Looking further than this for a school day means the calendar has none: an error, not a loop. */
const HORIZON_DAYS = 400;

/**
 * When a deadline that starts at `start` (ISO instant) falls under `rule`, and why. Under
 * `school_days`, it is the same local time of day `days` school days later (a school day is a day
 * of the school week that no closure covers), moved to opening time if earlier and to closing time
 * if later: never at night, on a weekend or on a closed day.
 */
export function deadlineFor(start: string, rule: DeadlineRule, calendar: SchoolCalendar): { due_at: string; reason: DeadlineReason } {
  const t0 = Date.parse(start);
  if (rule.kind === 'elapsed') {
    return {
      due_at: new Date(t0 + rule.ms).toISOString(),
      reason: { rule: 'elapsed', hours: Math.round((rule.ms / 3_600_000) * 100) / 100 },
    };
  }
  const here = localAt(t0, calendar.time_zone);
  const skipped: Extract<DeadlineReason, { rule: 'school_days' }>['skipped'] = [];
  let date = here.date;
  let counted = 0;
  for (let looked = 0; counted < rule.days; looked++) {
    if (looked > HORIZON_DAYS) throw new Error(`no school day within ${HORIZON_DAYS} days of ${here.date} in this calendar`);
    date = nextDate(date);
    const closure = closureOf(calendar, date);
    if (!calendar.school_days.includes(weekdayOf(date))) skipped.push({ date, why: 'not_a_school_day' });
    else if (closure) skipped.push({ date, why: 'closed', ...(closure.name ? { name: closure.name } : {}) });
    else counted++;
  }
  const opens = minutesOf(calendar.opens);
  const closes = minutesOf(calendar.closes);
  const minutes = Math.min(Math.max(here.minutes, opens), closes);
  const moved_to = here.minutes < opens ? 'opening' : here.minutes > closes ? 'closing' : null;
  const due = instantOf(date, minutes, calendar.time_zone);
  return {
    due_at: new Date(due).toISOString(),
    reason: { rule: 'school_days', days: rule.days, time_zone: calendar.time_zone, local: `${date} ${hhmm(minutes)}`, skipped, moved_to },
  };
}
