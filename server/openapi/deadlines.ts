import { z } from '@hono/zod-openapi';
import { CourseCode } from '../../machines/domain.ts';
import { uuid, instant, count, EXAMPLE } from './common.ts';

/**
 * Why a deadline counted from Friday 4 December 2026, 15:05 in Stockholm, one school day on, falls
 * on Monday 7 December at the same time: the weekend is passed over. The tests hold the service's
 * own reasoning to this, so the documented example stays what the service says.
 */
export const SCHOOL_DAY_WHY_EXAMPLE = {
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

/** The pending validation deadlines, with why each falls when it does. */

const DeadlineReason = z
  .discriminatedUnion('rule', [
    z.strictObject({ rule: z.literal('elapsed'), hours: z.number() }),
    z.strictObject({
      rule: z.literal('school_days'),
      days: count,
      time_zone: z.string(),
      local: z.string().openapi({ description: 'The local date and time the deadline falls on, `YYYY-MM-DD HH:MM`.' }),
      skipped: z.array(z.strictObject({ date: z.string(), why: z.enum(['not_a_school_day', 'closed']), name: z.string().optional() })),
      moved_to: z.enum(['opening', 'closing']).nullable(),
      calendar_changed_by: z.string().optional(),
    }),
    z.strictObject({ rule: z.literal('moved'), by: z.string() }),
    z.strictObject({ rule: z.literal('resumed'), by: z.string(), remaining_ms: count }),
  ])
  .openapi('DeadlineReason', {
    description:
      'Why the deadline falls when it does: wall-clock hours after the suggestions, the school calendar (the days passed over, and whether the time was moved into opening hours), moved by a teacher, or resumed after a pause with the time it had left.',
  });

export const DeadlineList = z
  .strictObject({
    deadlines: z.array(
      z.strictObject({
        batch_id: uuid,
        class_id: uuid,
        course_code: CourseCode,
        due_at: instant,
        deadline_version: count,
        pending_associations: count,
        will_keep_suggestion: count.openapi({ description: 'Pending associations the timeout will confirm (confidence ≥ 0.7).' }),
        will_link_unknown_student: count.openapi({
          description: "Pending associations the timeout will link to the class's UNKNOWN student.",
        }),
        why: DeadlineReason.nullable(),
      }),
    ),
    pending_associations: count,
    paused: z
      .array(
        z.strictObject({
          batch_id: uuid,
          class_id: uuid,
          course_code: CourseCode,
          paused_at: instant,
          paused_by: z.string(),
          until: instant.nullable().openapi({ description: 'When the pause ends by itself; null until resumed.' }),
          remaining_ms: count.openapi({ description: 'The time the deadline had left; a resume sets it this far ahead.' }),
          paused_due_at: instant.openapi({ description: 'When the deadline would have fallen had it not been paused.' }),
          pending_associations: count,
        }),
      )
      .openapi({ description: 'Validations whose deadline is paused: none of them is decided by a timeout while paused.' }),
  })
  .openapi('DeadlineList', {
    example: {
      deadlines: [
        {
          batch_id: EXAMPLE.batchId,
          class_id: EXAMPLE.classId,
          course_code: 'ENG5',
          due_at: EXAMPLE.dueAt,
          deadline_version: 1,
          pending_associations: 3,
          will_keep_suggestion: 2,
          will_link_unknown_student: 1,
          why: SCHOOL_DAY_WHY_EXAMPLE,
        },
      ],
      pending_associations: 3,
      paused: [],
    },
  });
