import { z } from 'zod';
import { ClassType, CourseCode, RosterEmail } from './domain.ts';
import { PHASES, type Phase, PhaseOutcomeStatus } from './pipelines.ts';
import { pgTimestamp, storable } from './storable.ts';
import type { DeadlineReason } from './school-calendar.ts';

/**
 * Wire schemas of the events this service consumes (snake_case, as the original services publish
 * them) and the typed events the machines take. The HTTP API validates with these same schemas.
 */

export const TOPICS = {
  contentProvisioned: 'huleedu.batch.content.provisioning.completed.v1',
  studentMatchingCommand: 'huleedu.batch.student.matching.initiate.command.v1',
  authorMatchesSuggested: 'huleedu.batch.author.matches.suggested.v1',
  associationsConfirmed: 'huleedu.class.student.associations.confirmed.v1',
  essaysReady: 'huleedu.els.batch.essays.ready.v1',
  pipelineRequest: 'huleedu.commands.batch.pipeline.v1',
  validationErrors: 'huleedu.els.batch.validation.errors.v1',
  essaysRegistered: 'huleedu.batch.essays.registered.v1',
  associationUpdated: 'huleedu.class.essay.association.updated.v1',
  timeoutProcessed: 'huleedu.class.validation.timeout.processed.v1',
  spellcheckCommand: 'huleedu.els.spellcheck.initiate.command.v1',
  teacherNotification: 'huleedu.notification.teacher.requested.v1',
  phaseOutcome: 'huleedu.els.batch.phase.outcome.v1',
  nlpCommand: 'huleedu.batch.nlp.initiate.command.v2',
  cjAssessmentCommand: 'huleedu.batch.cj_assessment.initiate.command.v1',
  aiFeedbackCommand: 'huleedu.batch.ai_feedback.initiate.command.v1',
  pipelineDenied: 'huleedu.pipeline.denied.v1',
  essaySlotAssigned: 'huleedu.els.essay.slot.assigned.v1',
  classCreated: 'huleedu.class.created.v1',
  studentCreated: 'huleedu.class.student.created.v1',
  classUpdated: 'huleedu.class.updated.v1',
  studentUpdated: 'huleedu.class.student.updated.v1',
} as const;

/** The model (HuleEdu common_core class) behind each topic, for docs and logs. */
export const TOPIC_MODELS: Record<(typeof TOPICS)[keyof typeof TOPICS], string> = {
  [TOPICS.contentProvisioned]: 'BatchContentProvisioningCompletedV1',
  [TOPICS.studentMatchingCommand]: 'BatchServiceStudentMatchingInitiateCommandDataV1',
  [TOPICS.authorMatchesSuggested]: 'BatchAuthorMatchesSuggestedV1',
  [TOPICS.associationsConfirmed]: 'StudentAssociationsConfirmedV1',
  [TOPICS.essaysReady]: 'BatchEssaysReady',
  [TOPICS.pipelineRequest]: 'ClientBatchPipelineRequestV1',
  [TOPICS.validationErrors]: 'BatchValidationErrorsV1',
  [TOPICS.essaysRegistered]: 'BatchEssaysRegistered',
  [TOPICS.associationUpdated]: 'EssayStudentAssociationUpdatedV1',
  [TOPICS.timeoutProcessed]: 'ValidationTimeoutProcessedV1',
  [TOPICS.spellcheckCommand]: 'BatchServiceSpellcheckInitiateCommandDataV1',
  [TOPICS.teacherNotification]: 'TeacherNotificationRequestedV1',
  [TOPICS.phaseOutcome]: 'ELSBatchPhaseOutcomeV1',
  [TOPICS.nlpCommand]: 'BatchServiceNLPInitiateCommandDataV2',
  [TOPICS.cjAssessmentCommand]: 'BatchServiceCJAssessmentInitiateCommandDataV1',
  [TOPICS.aiFeedbackCommand]: 'BatchServiceAIFeedbackInitiateCommandDataV1',
  [TOPICS.pipelineDenied]: 'PipelineDeniedV1',
  [TOPICS.essaySlotAssigned]: 'EssaySlotAssignedV1',
  [TOPICS.classCreated]: 'ClassCreatedV1',
  [TOPICS.studentCreated]: 'StudentCreatedV1',
  [TOPICS.classUpdated]: 'ClassUpdatedV1',
  [TOPICS.studentUpdated]: 'StudentUpdatedV1',
};

/**
 * The pipelines the real system runs: the requests the real orchestrator accepts as a phase name
 * and the real conductor can resolve. Every one of them starts with spellcheck.
 */
export const PIPELINES = ['nlp', 'cj_assessment', 'ai_feedback'] as const;
export const RequestedPipeline = z.enum(PIPELINES, { error: `requested pipeline must be one of ${PIPELINES.join(', ')}` });
export type RequestedPipeline = z.infer<typeof RequestedPipeline>;

const isoTime = pgTimestamp;
const nonEmpty = z.string().trim().min(1);

export const EssayRef = z.object({ essay_id: z.uuid(), text_storage_id: nonEmpty });
export type EssayRef = z.infer<typeof EssayRef>;

/** StorageReferenceMetadata: `{references: {<content type>: {<key>: <value>}}}`; kept as sent. */
export const StorageReference = z.object({ references: z.record(z.string(), z.record(z.string(), z.string())).optional() }).loose();
export const PromptPayload = z.object({ assignment_id: z.string().max(500).nullish(), cms_prompt_ref: StorageReference.nullish() }).loose();
export type PromptPayload = z.infer<typeof PromptPayload>;

/** The correlation id and timestamp the real producers may put in an event's data. */
const producerStamp = { correlation_id: z.uuid().optional(), timestamp: isoTime.optional() };

export const ContentProvisionedData = z.object({
  batch_id: z.uuid(),
  provisioned_count: z.number().int().nonnegative(),
  expected_count: z.number().int().nonnegative(),
  course_code: CourseCode,
  user_id: nonEmpty,
  essays_for_processing: z.array(EssayRef).max(10_000),
  ...producerStamp,
});

export const Suggestion = z.object({
  student_id: z.uuid(),
  student_name: nonEmpty,
  student_email: RosterEmail.nullish(),
  confidence_score: z.number().min(0).max(1),
  match_reasons: z.array(z.string()).max(100),
  extraction_metadata: z.record(z.string(), z.unknown()).nullish(),
});

export const MatchResult = z.object({
  essay_id: z.uuid(),
  text_storage_id: nonEmpty,
  filename: z.string(),
  suggestions: z.array(Suggestion).max(1000),
  no_match_reason: z.string().nullish(),
});

export const AuthorMatchesSuggestedData = z.object({
  batch_id: z.uuid(),
  class_id: z.uuid(),
  course_code: CourseCode,
  match_results: z.array(MatchResult).max(10_000),
  processing_summary: z.record(z.string(), z.unknown()).nullish(),
  processing_metadata: z.record(z.string(), z.unknown()).nullish(),
});

export const EssaysReadyData = z.object({
  batch_id: z.uuid(),
  ready_essays: z.array(EssayRef).max(10_000),
  course_code: CourseCode,
  course_language: z.enum(['en', 'sv']),
  class_type: ClassType,
  metadata: z.record(z.string(), z.unknown()).nullish(),
  student_prompt_ref: StorageReference.nullish(),
});

export const PipelineRequestData = z.object({
  batch_id: z.uuid(),
  requested_pipeline: RequestedPipeline,
  client_correlation_id: z.uuid().nullish(),
  user_id: nonEmpty,
  is_retry: z.boolean().default(false),
  retry_reason: z.string().nullish(),
  prompt_payload: PromptPayload.nullish(),
});

export const ValidationErrorsData = z.object({
  batch_id: z.uuid(),
  failed_essays: z
    .array(z.object({ essay_id: z.string(), file_name: z.string(), error_detail: z.record(z.string(), z.unknown()) }).loose())
    .max(10_000),
  error_summary: z
    .object({
      total_errors: z.number().int().nonnegative(),
      error_categories: z.record(z.string(), z.number().int()),
      critical_failure: z.boolean().default(false),
    })
    .loose(),
  metadata: z.record(z.string(), z.unknown()),
  correlation_id: z.uuid().optional(),
});

/** ELSBatchPhaseOutcomeV1: a phase of a started pipeline finished; only the phases of real pipelines are tracked. */
export const PhaseOutcomeData = z.object({
  batch_id: z.uuid(),
  phase_name: z.enum(PHASES, { error: `phase_name must be one of ${PHASES.join(', ')}` }),
  phase_status: PhaseOutcomeStatus,
  processed_essays: z.array(EssayRef).max(10_000),
  failed_essay_ids: z.array(z.string()).max(10_000),
  correlation_id: z.uuid().optional(),
});

const envelope = <T extends string, D extends z.ZodType>(eventType: T, data: D) =>
  z.object({
    event_id: z.uuid(),
    event_type: z.literal(eventType),
    event_timestamp: isoTime,
    source_service: nonEmpty,
    schema_version: z.number().int().positive().default(1),
    correlation_id: z.uuid(),
    data_schema_uri: z.string().nullish(),
    data,
    metadata: z.record(z.string(), z.unknown()).nullish(),
  });

/** The envelopes of some topics, told apart by `event_type`, whose text PostgreSQL can store. */
const oneOfEnvelopes = <const T extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(envelopes: T) =>
  storable(z.discriminatedUnion('event_type', envelopes));

export const InboundEnvelope = oneOfEnvelopes([
  envelope(TOPICS.contentProvisioned, ContentProvisionedData),
  envelope(TOPICS.authorMatchesSuggested, AuthorMatchesSuggestedData),
  envelope(TOPICS.essaysReady, EssaysReadyData),
  envelope(TOPICS.pipelineRequest, PipelineRequestData),
  envelope(TOPICS.validationErrors, ValidationErrorsData),
  envelope(TOPICS.phaseOutcome, PhaseOutcomeData),
]);
export type InboundEnvelope = z.infer<typeof InboundEnvelope>;

// ---- The class service's events (common_core class_events.py), consumed when it owns the roster.

const personName = z.string().trim().max(255);

export const ClassCreatedData = z.object({
  class_id: z.uuid(),
  class_designation: nonEmpty.max(255),
  course_codes: z.array(CourseCode).min(1).max(20),
  user_id: nonEmpty.max(255),
  ...producerStamp,
});

export const StudentCreatedData = z.object({
  student_id: z.uuid(),
  first_name: personName.min(1),
  last_name: personName,
  student_email: RosterEmail.nullable(),
  class_ids: z.array(z.uuid()).max(1000),
  created_by_user_id: nonEmpty.max(255),
  ...producerStamp,
});

export const ClassUpdatedData = z.object({
  class_id: z.uuid(),
  class_designation: nonEmpty.max(255).nullish(),
  course_codes: z.array(CourseCode).min(1).max(20).nullish(),
  user_id: nonEmpty.max(255),
  ...producerStamp,
});

export const StudentUpdatedData = z.object({
  student_id: z.uuid(),
  first_name: personName.min(1).nullish(),
  last_name: personName.nullish(),
  student_email: RosterEmail.nullish(),
  add_class_ids: z.array(z.uuid()).max(1000).nullish(),
  remove_class_ids: z.array(z.uuid()).max(1000).nullish(),
  updated_by_user_id: nonEmpty.max(255),
  ...producerStamp,
});

export const ClassInboundEnvelope = oneOfEnvelopes([
  envelope(TOPICS.classCreated, ClassCreatedData),
  envelope(TOPICS.studentCreated, StudentCreatedData),
  envelope(TOPICS.classUpdated, ClassUpdatedData),
  envelope(TOPICS.studentUpdated, StudentUpdatedData),
]);
export type ClassInboundEnvelope = z.infer<typeof ClassInboundEnvelope>;

/** Everything POST /v1/events takes: the batch events above and the class service's events. */
/** EssaySlotAssignedV1: the uploaded file behind an essay slot, with its original name. */
export const EssaySlotAssignedData = z.object({
  batch_id: z.uuid(),
  essay_id: z.uuid(),
  file_upload_id: nonEmpty.max(500),
  text_storage_id: nonEmpty.max(500),
  original_file_name: z.string().max(1000),
  ...producerStamp,
});

export const SlotInboundEnvelope = oneOfEnvelopes([envelope(TOPICS.essaySlotAssigned, EssaySlotAssignedData)]);
export type SlotInboundEnvelope = z.infer<typeof SlotInboundEnvelope>;

export const InboundMessage = oneOfEnvelopes([...InboundEnvelope.options, ...ClassInboundEnvelope.options, ...SlotInboundEnvelope.options]);
export type InboundMessage = z.infer<typeof InboundMessage>;

export const CLASS_INBOUND_TOPICS = ClassInboundEnvelope.options.map((o) => o.shape.event_type.value);
/** Every topic this service consumes: what a Kafka adapter subscribes to. */
export const INBOUND_TOPICS = InboundMessage.options.map((o) => o.shape.event_type.value);

export function isClassEnvelope(envelope: InboundMessage): envelope is ClassInboundEnvelope {
  return (CLASS_INBOUND_TOPICS as string[]).includes(envelope.event_type);
}

export function isSlotEnvelope(envelope: InboundMessage): envelope is SlotInboundEnvelope {
  return envelope.event_type === TOPICS.essaySlotAssigned;
}

/** One teacher decision, in the original's shape. */
export const TeacherDecision = z.object({
  essay_id: z.uuid(),
  /** Null or absent: the decision is about the suggested student (the real client sends null for an essay left unmatched). */
  student_id: z
    .uuid()
    .nullish()
    .transform((id) => id ?? undefined),
  confirmed: z.boolean(),
});
export interface TeacherDecision {
  essay_id: string;
  student_id?: string | undefined;
  confirmed: boolean;
}

// ---- Events the batch machine takes. Time arrives as data (`at`); the machines read no clock.

/** One of the matcher's suggestions for an essay, as the teacher's review shows it. */
export interface MatchSuggestion {
  student_id: string;
  student_name: string;
  student_email: string | null;
  confidence_score: number;
  match_reasons: string[];
}

export interface SuggestedMatch {
  essay_id: string;
  text_storage_id: string;
  filename: string | null;
  /** Every suggestion of the matcher for this essay, highest confidence first. */
  suggestions: MatchSuggestion[];
}

/** What the emitted events say about a student; read from the roster by the adapter. */
export interface StudentInfo {
  first_name: string;
  last_name: string;
  /** Optional in the real roster. */
  email: string | null;
}

export interface DecisionInput extends TeacherDecision {
  /** Whether the student this decision names (or the suggestion it accepts) belongs to the class. */
  student_in_class: boolean;
}

/** One correction of a decided association: the essay, its real author, and why (kept in the history). */
export interface CorrectionInput {
  essay_id: string;
  student_id: string;
  /** Whether the named student belongs to the batch's class. */
  student_in_class: boolean;
  reason: string | null;
}

/** StorageReferenceMetadata as a prompt reference: `{references: {student_prompt_text: {storage_id, ...}}}`. */
export type StudentPromptRef = z.infer<typeof StorageReference>;

/** The entitlements answer for a pipeline: allowed, or denied with the real denial's figures. */
export type CreditCheck =
  | { allowed: true; required_credits: number; available_credits: number; resource_breakdown: Record<string, number> }
  | {
      allowed: false;
      denial_reason: string;
      required_credits: number;
      available_credits: number;
      resource_breakdown: Record<string, number>;
    };

export type BatchEvent =
  | { type: 'CONTENT_PROVISIONED'; at: string; essays: EssayRef[]; provisioned_count: number; expected_count: number }
  | {
      type: 'AUTHOR_MATCHES_SUGGESTED';
      at: string;
      class_id: string;
      matches: SuggestedMatch[];
      due_at: string;
      created_by: string;
      /** Why the deadline falls when it does (the school calendar's rule); for the audit, no guard reads it. */
      deadline_reason?: DeadlineReason;
    }
  | { type: 'TEACHER_DECISIONS'; at: string; teacher_id: string; decisions: DecisionInput[]; students: Record<string, StudentInfo> }
  | { type: 'TEACHER_REOPENED'; at: string; teacher_id: string; essay_ids: string[]; reason: string | null }
  | {
      type: 'TEACHER_CORRECTED';
      at: string;
      teacher_id: string;
      corrections: CorrectionInput[];
      /** The roster's facts about the students the corrections name, for the announcements. */
      students: Record<string, StudentInfo>;
    }
  | { type: 'VALIDATION_TIMEOUT'; at: string; deadline_version: number; unknown_student_id: string; students: Record<string, StudentInfo> }
  | { type: 'DEADLINE_CHANGED'; at: string; due_at: string; by: string; deadline_reason?: DeadlineReason }
  /** A teacher (or an operator) pauses the validation deadline, until `until` or until resumed. */
  | { type: 'VALIDATION_PAUSED'; at: string; by: string; until: string | null; reason: string | null }
  /**
   * The deadline runs again with the time it had left. `deadline_version` is set when the pause's
   * end fired (the pause's deadline version, by 'timeout'); null when someone resumed it.
   */
  | { type: 'VALIDATION_RESUMED'; at: string; by: string; deadline_version: number | null }
  | { type: 'ESSAYS_READY'; at: string; ready_essays: EssayRef[]; class_type: ClassType; student_prompt_ref: unknown }
  | {
      type: 'PIPELINE_REQUESTED';
      at: string;
      pipeline: RequestedPipeline;
      requested_by: string;
      prompt_payload: PromptPayload | null;
      is_retry: boolean;
      /** What the credit check (the preflight's entitlements question) answered for this request. */
      credits: CreditCheck;
    }
  | { type: 'PHASE_OUTCOME'; at: string; phase: Phase; outcome: PhaseOutcomeStatus; processed_count: number; failed_essay_ids: string[] }
  | { type: 'PROMPT_AMENDED'; at: string; by: string; student_prompt_ref: StudentPromptRef }
  | { type: 'VALIDATION_ERRORS'; at: string; critical: boolean; total_errors: number; failed_essay_ids: string[] }
  | { type: 'CANCEL'; at: string; by: string; reason: string | null };
export type BatchEventType = BatchEvent['type'];

/** What a caller sends to cause each machine event: the topic for service events. */
export const WIRE_NAME: Record<BatchEventType, string> = {
  CONTENT_PROVISIONED: TOPICS.contentProvisioned,
  AUTHOR_MATCHES_SUGGESTED: TOPICS.authorMatchesSuggested,
  ESSAYS_READY: TOPICS.essaysReady,
  PIPELINE_REQUESTED: TOPICS.pipelineRequest,
  PHASE_OUTCOME: TOPICS.phaseOutcome,
  PROMPT_AMENDED: 'PROMPT_AMENDED',
  VALIDATION_ERRORS: TOPICS.validationErrors,
  TEACHER_DECISIONS: 'TEACHER_DECISIONS',
  TEACHER_REOPENED: 'TEACHER_REOPENED',
  TEACHER_CORRECTED: 'TEACHER_CORRECTED',
  VALIDATION_TIMEOUT: 'VALIDATION_TIMEOUT',
  DEADLINE_CHANGED: 'DEADLINE_CHANGED',
  VALIDATION_PAUSED: 'VALIDATION_PAUSED',
  VALIDATION_RESUMED: 'VALIDATION_RESUMED',
  CANCEL: 'CANCEL',
};
