import { z } from '@hono/zod-openapi';
import { AssociationStatus, BatchStatus } from '../../machines/domain.ts';
import { TOPICS } from '../../machines/events.ts';
import { uuid, instant, count, EXAMPLE } from './common.ts';

/** The answers of an applied event or teacher command: the common fields, the decisions' and reopenings' per-essay results, a moved deadline. */

const appliedShape = {
  event_id: z.string().openapi({ description: 'The inbound event id, or the id this service gave a teacher command.' }),
  batch_id: uuid,
  state: z.string().openapi({ description: 'State value after the event (dotted when nested).' }),
  status: BatchStatus,
  version: count,
  duplicate: z.boolean().openapi({ description: 'True when this event id was applied before; the body is then the first answer.' }),
};

/** The answer of an applied event, as the examples show it. */
export const appliedExample = {
  event_id: EXAMPLE.eventId,
  batch_id: EXAMPLE.batchId,
  state: 'awaiting_student_validation.awaiting_suggestions',
  status: 'awaiting_student_validation',
  version: 2,
  duplicate: false,
};

export const AppliedEvent = z.strictObject(appliedShape).openapi('AppliedEvent', {
  description: 'The event was applied (or had been: `duplicate: true`).',
  example: appliedExample,
});

export const AppliedClassEvent = z
  .strictObject({
    event_id: z.string(),
    event_type: z.string(),
    class_id: uuid.nullable(),
    student_id: uuid.nullable(),
    duplicate: z.boolean(),
  })
  .openapi('AppliedClassEvent', {
    description: 'A class service event applied to the roster (or had been: `duplicate: true`).',
    example: {
      event_id: EXAMPLE.eventId,
      event_type: TOPICS.studentCreated,
      class_id: EXAMPLE.classId,
      student_id: EXAMPLE.studentId,
      duplicate: false,
    },
  });

const DecisionResult = z
  .discriminatedUnion('outcome', [
    z.strictObject({ essay_id: uuid, outcome: z.literal('applied'), validation_status: AssociationStatus, student_id: uuid.nullable() }),
    z.strictObject({ essay_id: uuid, outcome: z.literal('refused'), reason: z.string(), validation_status: AssociationStatus.nullable() }),
  ])
  .openapi('DecisionResult');

export const DecisionsApplied = z
  .strictObject({
    ...appliedShape,
    results: z.array(DecisionResult).openapi({ description: 'One result per decision, in request order.' }),
    associations_confirmed: z
      .number()
      .int()
      .openapi({ description: "Decisions of this call that confirmed or corrected an association (the class service's answer field)." }),
    associations_rejected: z.number().int().openapi({ description: 'Decisions of this call that rejected an association.' }),
  })
  .openapi('DecisionsApplied', {
    example: {
      ...appliedExample,
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'ready_for_pipeline_execution',
      status: 'ready_for_pipeline_execution',
      version: 5,
      results: [{ essay_id: EXAMPLE.essayId, outcome: 'applied', validation_status: 'confirmed', student_id: EXAMPLE.studentId }],
      associations_confirmed: 1,
      associations_rejected: 0,
    },
  });

const ReopenResult = z
  .discriminatedUnion('outcome', [
    z.strictObject({
      essay_id: uuid,
      outcome: z.literal('applied'),
      validation_status: AssociationStatus,
      reopened_from: AssociationStatus,
    }),
    z.strictObject({ essay_id: uuid, outcome: z.literal('refused'), reason: z.string(), validation_status: AssociationStatus.nullable() }),
  ])
  .openapi('ReopenResult');

export const ReopenApplied = z
  .strictObject({
    ...appliedShape,
    results: z.array(ReopenResult).openapi({ description: 'One result per essay, in request order.' }),
    associations_reopened: z.number().int().openapi({ description: 'Associations this call put back to pending.' }),
  })
  .openapi('ReopenApplied', {
    example: {
      ...appliedExample,
      event_id: 'cmd-7a1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'awaiting_student_validation.awaiting_teacher',
      status: 'awaiting_student_validation',
      version: 5,
      results: [{ essay_id: EXAMPLE.essayId, outcome: 'applied', validation_status: 'pending_validation', reopened_from: 'confirmed' }],
      associations_reopened: 1,
    },
  });

export const DeadlineChanged = z
  .strictObject({
    ...appliedShape,
    due_at: instant.openapi({ description: 'The new deadline.' }),
  })
  .openapi('DeadlineChanged', {
    example: {
      ...appliedExample,
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'awaiting_student_validation.awaiting_teacher',
      version: 4,
      due_at: EXAMPLE.dueAt,
    },
  });
