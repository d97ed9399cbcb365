import { z } from 'zod';
import { BatchStatus, CourseCode } from '../machines/domain.ts';
import { PromptPayload, RequestedPipeline, TeacherDecision } from '../machines/events.ts';
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

export const ConfirmBody = storable(z.strictObject({
  associations: z
    .array(TeacherDecision)
    .min(1)
    .max(10_000)
    .refine((list) => new Set(list.map((d) => d.essay_id)).size === list.length, 'each essay_id may appear once'),
}));

export const PipelineBody = storable(z.strictObject({ pipeline: RequestedPipeline, prompt_payload: PromptPayload.nullish() }));

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
