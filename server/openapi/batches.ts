import { z } from '@hono/zod-openapi';
import { AssociationStatus, BatchStatus, ClassType, ConfidenceLevel, CourseCode, ValidationMethod } from '../../machines/domain.ts';
import { uuid, instant, count, EXAMPLE } from './common.ts';
import { PauseState } from './pauses.ts';

/** A batch as the teacher reads it: the registration's answer, the view and list, its associations and its history. */

/** The orchestrator's answer to a registration (`POST /v1/batches/register`). */
export const RegistrationAccepted = z
  .strictObject({ batch_id: z.uuid(), correlation_id: z.uuid(), status: z.literal('registered') })
  .openapi('RegistrationAccepted', {
    example: { batch_id: EXAMPLE.batchId, correlation_id: '0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b', status: 'registered' },
  });

const BATCH_EXAMPLE = {
  batch_id: EXAMPLE.batchId,
  class_id: EXAMPLE.classId,
  class_type: 'REGULAR',
  course_code: 'ENG5',
  language: 'en',
  expected_essay_count: 3,
  correlation_id: EXAMPLE.correlationId,
  status: 'awaiting_student_validation',
  state: 'awaiting_student_validation.awaiting_teacher',
  version: 3,
  prompt_payload: null,
  student_prompt_ref: null,
  created_at: EXAMPLE.at,
  updated_at: EXAMPLE.at,
  validation: { due_at: EXAMPLE.dueAt, paused: null, pending: 3, confirmed: 0, rejected: 0, timeout_confirmed: 0, no_match: 0 },
};

export const BatchView = z
  .strictObject({
    batch_id: uuid,
    class_id: uuid.nullable().openapi({ description: 'Null for a GUEST batch.' }),
    class_type: ClassType,
    course_code: CourseCode,
    language: z.enum(['en', 'sv']),
    expected_essay_count: count,
    correlation_id: uuid,
    status: BatchStatus,
    state: z.string(),
    version: count,
    prompt_payload: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'The `prompt_payload` of the last pipeline request (PipelinePromptPayload), kept for later phases.' }),
    student_prompt_ref: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "BatchEssaysReady's `student_prompt_ref` (StorageReferenceMetadata), kept for later phases." }),
    created_at: instant,
    updated_at: instant,
    validation: z.strictObject({
      due_at: instant
        .nullable()
        .openapi({ description: 'When pending associations will be decided by the timeout; null when none is due (or while paused).' }),
      paused: PauseState.nullable().openapi({ description: 'Set while the validation deadline is paused.' }),
      pending: count,
      confirmed: count,
      rejected: count,
      timeout_confirmed: count,
      no_match: count,
    }),
  })
  .openapi('Batch', { example: BATCH_EXAMPLE });

export const BatchList = z.strictObject({ batches: z.array(BatchView) }).openapi('BatchList', {
  example: { batches: [BATCH_EXAMPLE] },
});

const Association = z
  .strictObject({
    essay_id: uuid,
    student_id: uuid.nullable(),
    student: z.strictObject({ name: z.string(), email: z.email().nullable() }).nullable(),
    suggested_student_id: uuid.nullable(),
    confidence_score: z.number().min(0).max(1).nullable(),
    confidence_level: ConfidenceLevel,
    match_reasons: z.array(z.string()).nullable(),
    filename: z
      .string()
      .nullable()
      .openapi({ description: "The matcher's filename of the essay; null for associations stored before it was kept." }),
    suggestions: z
      .array(
        z.strictObject({
          student_id: uuid,
          student_name: z.string(),
          student_email: z.string().nullable(),
          confidence_score: z.number().min(0).max(1),
          match_reasons: z.array(z.string()),
        }),
      )
      .openapi({ description: 'Every suggestion of the matcher for this essay, highest confidence first.' }),
    validation_status: AssociationStatus,
    validation_method: ValidationMethod.nullable(),
    validated_by: z.string().nullable().openapi({ description: 'A teacher id, or `SYSTEM_TIMEOUT`.' }),
    validated_at: instant.nullable(),
    due_at: instant.nullable().openapi({ description: 'The deadline, while the association is pending.' }),
    if_no_decision: z.enum(['keep_suggestion', 'unknown_student']).nullable().openapi({
      description: "While pending: what the deadline will do (keep the suggestion at confidence ≥ 0.7, else the class's UNKNOWN student).",
    }),
  })
  .openapi('Association');

export const AssociationList = z.strictObject({ batch_id: uuid, associations: z.array(Association) }).openapi('AssociationList', {
  example: {
    batch_id: EXAMPLE.batchId,
    associations: [
      {
        essay_id: EXAMPLE.essayId,
        student_id: EXAMPLE.studentId,
        student: { name: 'Astrid Lindqvist', email: 'astrid@school.example' },
        suggested_student_id: EXAMPLE.studentId,
        confidence_score: 0.95,
        confidence_level: 'high',
        match_reasons: ['name in header'],
        filename: 'astrid_lindqvist_essay.docx',
        suggestions: [
          {
            student_id: EXAMPLE.studentId,
            student_name: 'Astrid Lindqvist',
            student_email: 'astrid@school.example',
            confidence_score: 0.95,
            match_reasons: ['name in header'],
          },
        ],
        validation_status: 'pending_validation',
        validation_method: null,
        validated_by: null,
        validated_at: null,
        due_at: EXAMPLE.dueAt,
        if_no_decision: 'keep_suggestion',
      },
    ],
  },
});

const HistoryEntry = z
  .strictObject({
    seq: count,
    at: instant,
    event_type: z.string(),
    event_id: z.string().nullable(),
    actor: z.string().openapi({ description: '`service`, a teacher id, `timeout`, or `retention`.' }),
    from_state: z.string().nullable(),
    to_state: z.string().nullable().openapi({ description: 'Null when the event was refused.' }),
    correlation_id: uuid.nullable(),
    outcome: z.enum(['applied', 'refused', 'late', 'notified', 'purged']).openapi({
      description:
        '`applied`, `refused` or `late` for an event; `notified` for a deadline reminder (`VALIDATION_REMINDER`); `purged` for retention (`RETENTION_PURGED`, the rows it pseudonymised in `detail.rows`).',
    }),
    reason: z.string().nullable().openapi({ description: 'Why an event was refused or late.' }),
    version: count,
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('HistoryEntry');

export const History = z.strictObject({ batch_id: uuid, history: z.array(HistoryEntry) }).openapi('History', {
  example: {
    batch_id: EXAMPLE.batchId,
    history: [
      {
        seq: 1,
        at: EXAMPLE.at,
        event_type: 'BATCH_REGISTERED',
        event_id: null,
        actor: 'teacher-a',
        from_state: null,
        to_state: 'awaiting_content_validation',
        correlation_id: EXAMPLE.correlationId,
        outcome: 'applied',
        reason: null,
        version: 1,
        detail: null,
      },
    ],
  },
});
