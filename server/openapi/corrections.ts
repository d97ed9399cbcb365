import { z } from '@hono/zod-openapi';
import { AssociationStatus } from '../../machines/domain.ts';
import { TransitionRefused } from '../openapi-problems.ts';
import { AppliedEvent, appliedExample } from './applied.ts';
import { EXAMPLE, uuid } from './common.ts';

/**
 * The answers of POST /v1/batches/{batch_id}/student-associations/correct: per essay, the
 * correction applied (and what it replaced), or why it was refused. All or none: a refused
 * correction refuses the call (409), whose `results` give every essay's reason.
 */

const CorrectionResult = z
  .discriminatedUnion('outcome', [
    z.strictObject({
      essay_id: uuid,
      outcome: z.literal('applied'),
      validation_status: AssociationStatus,
      student_id: uuid.nullable(),
      corrected_from: AssociationStatus.meta({ description: 'The decision this correction replaced (a teacher’s, or the deadline’s).' }),
      previous_student_id: uuid.nullable(),
    }),
    z.strictObject({ essay_id: uuid, outcome: z.literal('refused'), reason: z.string(), validation_status: AssociationStatus.nullable() }),
  ])
  .openapi('CorrectionResult');

export const CorrectionsApplied = z
  .strictObject({
    ...AppliedEvent.shape,
    results: z.array(CorrectionResult).openapi({ description: 'One result per correction, in request order.' }),
    associations_corrected: z.number().int().openapi({ description: 'Associations this call corrected.' }),
  })
  .openapi('CorrectionsApplied', {
    example: {
      ...appliedExample,
      event_id: 'cmd-8b2f3e4d-5c6b-4a89-9b7c-6d5e4f3a2b1c',
      state: 'ready_for_pipeline_execution',
      status: 'ready_for_pipeline_execution',
      version: 7,
      results: [
        {
          essay_id: EXAMPLE.essayId,
          outcome: 'applied',
          validation_status: 'confirmed',
          student_id: EXAMPLE.studentId,
          corrected_from: 'no_match',
          previous_student_id: '7d6c5b4a-3928-4716-a5b4-c3d2e1f0a9b8',
        },
      ],
      associations_corrected: 1,
    },
  });

/** The 409 of a correction: the transition refusal, with every correction's reason. */
export const CorrectionsRefused = TransitionRefused.extend({
  results: z.array(CorrectionResult).optional().openapi({ description: 'Why each correction was not applied (all or none).' }),
}).openapi('CorrectionsRefused', {
  description: "A 409: the batch's state does not accept corrections, or one of them cannot apply, so none did. Nothing was changed.",
});

export const CORRECTIONS_REFUSED_EXAMPLE = {
  type: '/problems/conflict',
  title: 'Transition refused',
  status: 409,
  detail: `Batch ${EXAMPLE.batchId} in state ready_for_pipeline_execution accepts TEACHER_CORRECTED, but refused this one: essay ${EXAMPLE.essayId}: a pipeline was requested; the authors can no longer be corrected.`,
  state: 'ready_for_pipeline_execution',
  status_value: 'ready_for_pipeline_execution',
  event: 'TEACHER_CORRECTED',
  allowed_events: ['huleedu.commands.batch.pipeline.v1', 'TEACHER_CORRECTED', 'PROMPT_AMENDED'],
  version: 8,
  results: [
    {
      essay_id: EXAMPLE.essayId,
      outcome: 'refused',
      reason: 'a pipeline was requested; the authors can no longer be corrected',
      validation_status: 'no_match',
    },
  ],
};
