import { z } from 'zod';
import { BatchStatus, CourseCode, RosterEmail } from '../machines/domain.ts';
import { PromptPayload, RequestedPipeline, StorageReference, TeacherDecision } from '../machines/events.ts';
import { pgTimestamp, storable } from '../machines/storable.ts';

/** Request schemas of the teacher API. Machine event payloads live in machines/events.ts. */

const name = z.string().trim().min(1).max(200);

/** A last name may be empty: real rosters hold students with one name. */
const lastName = z.string().trim().max(200);
const legalFullName = z.string().trim().min(1).max(512).nullish();

const courseCodes = z
  .array(CourseCode)
  .min(1, 'at least one course code is required')
  .max(CourseCode.options.length)
  .refine((codes) => new Set(codes).size === codes.length, 'each course code may appear once');

/** Today's `{name, course_code}` or the real CreateClassRequest's `{name, course_codes: [...]}`. */
export const CreateClassBody = storable(
  z
    .strictObject({ name, course_code: CourseCode.optional(), course_codes: courseCodes.optional() })
    .refine((b) => (b.course_code === undefined) !== (b.course_codes === undefined), {
      path: ['course_codes'],
      message: 'send course_code or course_codes (one of them)',
    }),
);

export const AddStudentsBody = storable(
  z.strictObject({
    students: z
      .array(z.strictObject({ first_name: name, last_name: lastName, legal_full_name: legalFullName, email: RosterEmail.nullish() }))
      .min(1)
      .max(1000)
      .refine((list) => {
        const emails = list.flatMap((s) => (s.email ? [s.email.toLowerCase()] : []));
        return new Set(emails).size === emails.length;
      }, 'emails must be unique'),
  }),
);

/** PersonNameV1. */
export const PersonNameBody = z.object({ first_name: name, last_name: lastName, legal_full_name: legalFullName });

/**
 * The real class service's request bodies (api_models.py). Like the real pydantic models, they
 * ignore fields they do not know: the gateway forwards what the client sent.
 */
export const CreateStudentBody = storable(
  z.object({ person_name: PersonNameBody, email: RosterEmail.nullish(), class_ids: z.array(z.uuid()).max(100).nullish() }),
);

export const UpdateStudentBody = storable(
  z.object({
    person_name: PersonNameBody.nullish(),
    email: RosterEmail.nullish(),
    add_class_ids: z.array(z.uuid()).max(100).nullish(),
    remove_class_ids: z.array(z.uuid()).max(100).nullish(),
  }),
);

export const UpdateClassBody = storable(z.object({ name: name.nullish(), course_codes: courseCodes.nullish() }));

export const StudentParams = z.object({ student_id: z.uuid() });

export const RegisterBatchBody = storable(
  z.strictObject({
    course_code: CourseCode,
    class_id: z.uuid().optional(),
    expected_essay_count: z.number().int().min(1).max(10_000),
    batch_id: z.uuid().optional(),
  }),
);

/**
 * The class service's confirm body as the real client sends it: `confirmation_method` (e.g.
 * `manual_teacher_review`) and a top-level `user_id` are accepted; the caller is the authenticated
 * teacher, so a `user_id` naming someone else is refused by the route.
 */
export const ConfirmBody = storable(
  z.strictObject({
    associations: z
      .array(TeacherDecision)
      .min(1)
      .max(10_000)
      .refine((list) => new Set(list.map((d) => d.essay_id)).size === list.length, 'each essay_id may appear once'),
    confirmation_method: z.string().trim().min(1).max(100).optional(),
    user_id: z.string().trim().min(1).max(200).optional(),
  }),
);

/** Decisions a teacher takes back while the batch still waits: the essays, and why (kept in the history). */
export const ReopenBody = storable(
  z.strictObject({
    essay_ids: z
      .array(z.uuid())
      .min(1)
      .max(10_000)
      .refine((list) => new Set(list).size === list.length, 'each essay_id may appear once'),
    reason: z.string().trim().min(1).max(500).optional(),
  }),
);

/**
 * Corrections of decided associations after validation: each essay once, the student the teacher
 * says wrote it, and optionally why (kept in the history).
 */
export const CorrectBody = storable(
  z.strictObject({
    corrections: z
      .array(z.strictObject({ essay_id: z.uuid(), student_id: z.uuid(), reason: z.string().trim().min(1).max(500).optional() }))
      .min(1)
      .max(1_000)
      .refine((list) => new Set(list.map((c) => c.essay_id)).size === list.length, 'each essay_id may appear once'),
  }),
);

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
    .refine((b) => (b.requested_pipeline ?? b.pipeline) !== undefined, {
      message: 'requested_pipeline is required',
      path: ['requested_pipeline'],
    })
    .refine((b) => b.pipeline === undefined || b.requested_pipeline === undefined || b.pipeline === b.requested_pipeline, {
      message: 'pipeline and requested_pipeline name different pipelines',
      path: ['pipeline'],
    }),
);

const promptRef = StorageReference.refine(
  (ref) =>
    typeof ref.references?.student_prompt_text?.storage_id === 'string' && ref.references.student_prompt_text.storage_id.trim() !== '',
  {
    message: 'student_prompt_ref.references.student_prompt_text.storage_id is required',
  },
);

/**
 * `BatchRegistrationRequestV1` as the API gateway sends it to the orchestrator. Unknown fields are
 * ignored, as the real pydantic model does.
 */
export const GatewayRegistrationBody = storable(
  z
    .object({
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
    })
    .refine((b) => !b.essay_ids || b.essay_ids.length === b.expected_essay_count, {
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

/** Pausing a validation deadline: until an instant, or until resumed; the reason goes to the history. */
export const PauseBody = storable(
  z.strictObject({
    until: pgTimestamp.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  }),
);
export const ResumeBody = z.strictObject({});
/** An operator's pause of a class: who they are (for the history), and the pause. */
export const ClassPauseBody = storable(
  z.strictObject({
    operator: z.string().trim().min(1).max(100),
    until: pgTimestamp.optional(),
    reason: z.string().trim().min(1).max(500).optional(),
  }),
);
export const ClassResumeBody = storable(z.strictObject({ operator: z.string().trim().min(1).max(100) }));

export const DeadlineBody = z.union([
  z.strictObject({
    extend_by_ms: z
      .number()
      .int()
      .positive()
      .max(365 * 24 * 3600 * 1000),
  }),
  z.strictObject({ due_at: pgTimestamp }),
]);

export const DeadlinesQuery = z.object({ before: pgTimestamp.optional() });
