import { z } from '@hono/zod-openapi';
import { AppliedEvent, appliedExample } from './applied.ts';
import { EXAMPLE, count, instant, uuid } from './common.ts';

/** The answers of pausing and resuming a validation deadline, for one batch or a whole class. */

export const PauseState = z
  .strictObject({
    paused_at: instant,
    by: z.string().openapi({ description: 'Who paused it: a teacher id, or `operator:<name>` for a pause of the class.' }),
    until: instant.nullable().openapi({ description: 'When the pause ends by itself; null until someone resumes it.' }),
    remaining_ms: count.openapi({ description: 'The time the deadline had left when paused; a resume sets it this far ahead.' }),
    paused_due_at: instant.openapi({ description: 'When the deadline would have fallen had it not been paused.' }),
  })
  .openapi('PauseState', { description: 'A paused validation deadline: it does not fire while paused.' });

export const ValidationPaused = z
  .strictObject({
    ...AppliedEvent.shape,
    paused: PauseState,
    due_at: z.null().openapi({ description: 'No timeout is pending while paused.' }),
  })
  .openapi('ValidationPaused', {
    example: {
      ...appliedExample,
      event_id: 'cmd-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      state: 'awaiting_student_validation.awaiting_teacher',
      version: 4,
      paused: {
        paused_at: EXAMPLE.at,
        by: 'teacher-1',
        until: '2026-12-14T07:00:00.000Z',
        remaining_ms: 21_600_000,
        paused_due_at: EXAMPLE.dueAt,
      },
      due_at: null,
    },
  });

export const ValidationResumed = z
  .strictObject({
    ...AppliedEvent.shape,
    paused: z.null(),
    due_at: instant.openapi({ description: 'The new deadline: the time it had left, from the resume.' }),
    remaining_ms: count.openapi({ description: 'The time the deadline had left when it was paused.' }),
  })
  .openapi('ValidationResumed', {
    example: {
      ...appliedExample,
      event_id: 'cmd-2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
      state: 'awaiting_student_validation.awaiting_teacher',
      version: 5,
      paused: null,
      due_at: EXAMPLE.dueAt,
      remaining_ms: 21_600_000,
    },
  });

export const ClassPauseAnswer = z
  .strictObject({
    class_id: uuid,
    changed: z
      .array(
        z.strictObject({
          batch_id: uuid,
          event_id: z.string(),
          remaining_ms: count.nullable(),
          until: instant.nullable(),
          due_at: instant.nullable().openapi({ description: 'The pending timeout after it: null while paused.' }),
        }),
      )
      .openapi({ description: 'The batches this call paused (or resumed), each in its own history.' }),
    kept: z
      .array(z.strictObject({ batch_id: uuid, why: z.string() }))
      .openapi({ description: 'Batches awaiting the teacher that did not take it, and why.' }),
  })
  .openapi('ClassPauseAnswer', {
    example: {
      class_id: EXAMPLE.classId,
      changed: [
        {
          batch_id: EXAMPLE.batchId,
          event_id: 'class-pause-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
          remaining_ms: 21_600_000,
          until: null,
          due_at: null,
        },
      ],
      kept: [],
    },
  });
