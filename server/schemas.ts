import { z } from 'zod';
import { BatchStatus, CourseCode } from '../machines/domain.ts';
import { PromptPayload, RequestedPipeline, StorageReference, TeacherDecision } from '../machines/events.ts';
import { pgTimestamp, storable } from '../machines/storable.ts';

/** Request schemas of the teacher API. Machine event payloads live in machines/events.ts. */

const name = z.string().trim().min(1).max(200);

export const CreateClassBody = storable(z.strictObject({ name, course_code: CourseCode }));

export const AddStudentsBody = storable(z.strictObject({
  students: z
    .array(z.strictObject({ first_name: name, last_name: name, email: z.email().max(320) }))
    .min(1)
    .max(1000)
    .refine((list) => new Set(list.map((s) => s.email.toLowerCase())).size === list.length, 'emails must be unique'),
}));

export const RegisterBatchBody = storable(z.strictObject({
  course_code: CourseCode,
  class_id: z.uuid().optional(),
  expected_essay_count: z.number().int().min(1).max(10_000),
  batch_id: z.uuid().optional(),
}));

/**
 * The class service's confirm body as the real client sends it: `confirmation_method` (e.g.
 * `manual_teacher_review`) and a top-level `user_id` are accepted; the caller is the authenticated
 * teacher, so a `user_id` naming someone else is refused by the route.
 */
export const ConfirmBody = storable(z.strictObject({
  associations: z
    .array(TeacherDecision)
    .min(1)
    .max(10_000)
    .refine((list) => new Set(list.map((d) => d.essay_id)).size === list.length, 'each essay_id may appear once'),
  confirmation_method: z.string().trim().min(1).max(100).optional(),
  user_id: z.string().trim().min(1).max(200).optional(),
}));

/**
 * The gateway's `BatchPipelineRequest` (`requested_pipeline`, `is_retry`, `retry_reason`,
 * `prompt_payload`), or this API's earlier `pipeline`; one of the two names the pipeline.
 */
export const PipelineBody = storable(
  z
    .strictObject({
      requested_pipeline: RequestedPipeline.optional(),
      pipeline: RequestedPipeline.optional(),
      is_retry: z.boolean().default(false),
      retry_reason: z.string().trim().max(500).nullish(),
      prompt_payload: PromptPayload.nullish(),
    })
    .refine((b) => (b.requested_pipeline ?? b.pipeline) !== undefined, { message: 'requested_pipeline is required', path: ['requested_pipeline'] })
    .refine((b) => b.pipeline === undefined || b.requested_pipeline === undefined || b.pipeline === b.requested_pipeline, {
      message: 'pipeline and requested_pipeline name different pipelines',
      path: ['pipeline'],
    }),
);

const promptRef = StorageReference.refine((ref) => typeof ref.references?.student_prompt_text?.storage_id === 'string' && ref.references.student_prompt_text.storage_id.trim() !== '', {
  message: 'student_prompt_ref.references.student_prompt_text.storage_id is required',
});

/**
 * `BatchRegistrationRequestV1` as the API gateway sends it to the orchestrator. Unknown fields are
 * ignored, as the real pydantic model does.
 */
export const GatewayRegistrationBody = storable(
  z.object({
    expected_essay_count: z.number().int().min(1).max(10_000),
    essay_ids: z.array(z.string().trim().min(1).max(200)).min(1).max(10_000).nullish(),
    course_code: CourseCode,
    student_prompt_ref: promptRef.nullish(),
    user_id: z.string().trim().min(1).max(200),
    org_id: z.string().trim().min(1).max(200).nullish(),
    class_id: z.uuid().nullish(),
    cj_default_llm_model: z.string().trim().min(1).max(200).nullish(),
    cj_default_temperature: z.number().min(0).max(2).nullish(),
    assignment_id: z.string().trim().min(1).max(100).nullish(),
  }).refine((b) => !b.essay_ids || b.essay_ids.length === b.expected_essay_count, {
    message: 'essay_ids must list expected_essay_count ids',
    path: ['essay_ids'],
  }),
);

/** `BatchPromptAmendmentRequest`: the prompt's storage reference. */
export const PromptAmendmentBody = storable(z.object({ student_prompt_ref: promptRef }));

export const CancelBody = storable(z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }));

export const BatchParams = z.object({ batch_id: z.uuid() });
export const ClassParams = z.object({ class_id: z.uuid() });

export const BatchListQuery = z.object({ status: BatchStatus.optional() });

export const OutboxQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const DeadlineBody = z.union([
  z.strictObject({ extend_by_ms: z.number().int().positive().max(365 * 24 * 3600 * 1000) }),
  z.strictObject({ due_at: pgTimestamp }),
]);

export const DeadlinesQuery = z.object({ before: pgTimestamp.optional() });
