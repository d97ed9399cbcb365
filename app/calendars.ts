import { randomUUID } from 'node:crypto';
import { type SchoolCalendar, WEEKDAYS, calendarProblems, deadlineFor } from '../machines/school-calendar.ts';
import type { Db } from '../db/client.ts';
import { classCalendar, pendingClassDeadlines, storeClassCalendar } from '../db/class-calendars.ts';
import type { ApplyOutcome, EventRequest } from './apply.ts';
import { findOwnedClass } from './classes.ts';
import type { DeadlinePolicy } from './deadline-policy.ts';

/** A calendar as the API speaks it: weekdays by name, a closure's `to` optional. */
export interface CalendarBody {
  time_zone: string;
  school_days: Array<(typeof WEEKDAYS)[number]>;
  opens: string;
  closes: string;
  closed: Array<{ from: string; to?: string | undefined; name?: string | undefined }>;
}

export const toCalendar = (body: CalendarBody): SchoolCalendar => ({
  time_zone: body.time_zone,
  school_days: [...new Set(body.school_days.map((d) => WEEKDAYS.indexOf(d) + 1))].sort(),
  opens: body.opens,
  closes: body.closes,
  closed: body.closed.map((c) => ({ from: c.from, to: c.to ?? c.from, ...(c.name ? { name: c.name } : {}) })),
});

export const calendarBody = (c: SchoolCalendar) => ({
  time_zone: c.time_zone,
  school_days: c.school_days.map((d) => WEEKDAYS[d - 1]!),
  opens: c.opens,
  closes: c.closes,
  closed: c.closed,
});

/** A class's calendar as the teacher sees it: its own, or the service's, and the rule it counts by. */
export async function readClassCalendar(db: Db, policy: DeadlinePolicy, ownerId: string, classId: string) {
  if (!(await findOwnedClass(db, ownerId, classId))) return null;
  const own = await classCalendar(db, classId);
  return { class_id: classId, source: own ? 'class' : 'service', calendar: calendarBody(own ?? policy.calendar), rule: policy.rule };
}

export type CalendarChange =
  | { kind: 'not_found' }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> }
  | {
      kind: 'changed';
      moved: Array<{ batch_id: string; from_due_at: string; to_due_at: string }>;
      kept: Array<{ batch_id: string; due_at: string; why: string }>;
    };

/**
 * Sets a class's calendar, then moves each pending deadline of its batches that the calendar
 * governs: one DEADLINE_CHANGED per batch, in the batch's history under the teacher's name, with
 * the new reason. A deadline a teacher moved is theirs and stays; so does one whose new time has
 * already passed. Each move is its own transition: a crash between them leaves the rest where they
 * were, and sending the same calendar again moves them (a deadline already right is not touched).
 */
export async function changeClassCalendar(
  db: Db,
  apply: (request: EventRequest) => Promise<ApplyOutcome>,
  policy: DeadlinePolicy,
  now: () => Date,
  ownerId: string,
  classId: string,
  body: CalendarBody,
): Promise<CalendarChange> {
  const calendar = toCalendar(body);
  const errors = calendarProblems(calendar);
  if (errors.length > 0) return { kind: 'invalid', errors };
  if (!(await findOwnedClass(db, ownerId, classId))) return { kind: 'not_found' };
  await storeClassCalendar(db, classId, calendar, ownerId);
  const moved: Array<{ batch_id: string; from_due_at: string; to_due_at: string }> = [];
  const kept: Array<{ batch_id: string; due_at: string; why: string }> = [];
  for (const pending of await pendingClassDeadlines(db, classId)) {
    const due_at = new Date(pending.due_at).toISOString();
    const keep = (why: string) => kept.push({ batch_id: pending.batch_id, due_at, why });
    if (policy.rule.kind !== 'school_days') {
      keep('deadlines count wall-clock hours (VALIDATION_DEADLINE=elapsed); the calendar does not move them');
      continue;
    }
    if (pending.reason?.rule === 'moved') {
      keep(`moved by ${pending.reason.by}; a teacher's deadline stays`);
      continue;
    }
    if (pending.reason?.rule === 'resumed') {
      keep(`resumed by ${pending.reason.by} with the time it had left when paused; it stays`);
      continue;
    }
    const next = deadlineFor(pending.started_at, policy.rule, calendar);
    if (next.due_at === due_at) {
      keep('already falls on this calendar');
      continue;
    }
    if (Date.parse(next.due_at) <= now().getTime()) {
      keep(`on this calendar it would have been due at ${next.due_at}, which has passed; extend it instead`);
      continue;
    }
    const outcome = await apply({
      batchId: pending.batch_id,
      eventId: `calendar-${randomUUID()}`,
      actor: ownerId,
      correlationId: null,
      ownerId,
      build: (_context, _lookups, at) => ({
        ok: true,
        event: {
          type: 'DEADLINE_CHANGED',
          at,
          by: ownerId,
          due_at: next.due_at,
          deadline_reason: { ...next.reason, calendar_changed_by: ownerId },
        },
      }),
    });
    if (outcome.kind === 'applied') moved.push({ batch_id: pending.batch_id, from_due_at: due_at, to_due_at: next.due_at });
    else keep(`the batch did not take the move (${outcome.kind})`);
  }
  return { kind: 'changed', moved, kept };
}
