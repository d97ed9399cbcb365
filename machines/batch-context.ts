import type { AssociationRecord } from './association.ts';
import type { ClassType, CourseCode } from './domain.ts';
import type { EssayRef, PromptPayload } from './events.ts';
import type { PipelineState } from './pipelines.ts';

/**
 * What a batch snapshot holds. Its keys are part of the released machine versions
 * (tests/fixtures/machine-shapes): a change here is a new BATCH_MACHINE_VERSION and a migration.
 *
 * v2: GUEST batches go to ready_for_pipeline_execution on provisioning (awaiting_pipeline_configuration
 * is gone); a pipeline request keeps the batch ready (processing_pipelines is gone); failed_critically;
 * prompt references, validation error counts, and every suggestion with the filename per association.
 * v3: association records are their own rows, not part of the persisted batch snapshot; the batch
 * keeps association_counts, and `associations` holds only the records the current event works on.
 * v4: the registration's org_id, assignment_id and CJ defaults; the pipeline state (phases dispatched
 * and their outcomes), so a repeated request is skipped and a later pipeline starts at its first
 * phase not yet completed; how many requests were skipped.
 * v5: `pause`: a paused validation deadline (when, by whom, until when, and the time it had left).
 */

export interface BatchInput {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  course_code: CourseCode;
  expected_essay_count: number;
  correlation_id: string;
  /** The registration's organisation (credit attribution), assignment and CJ defaults (v4). */
  org_id?: string | null;
  assignment_id?: string | null;
  cj_default_llm_model?: string | null;
  cj_default_temperature?: number | null;
  /** A prompt reference given at registration; BatchEssaysReady or a prompt amendment may replace it. */
  student_prompt_ref?: unknown;
}

export interface Deadline {
  due_at: string;
  /** Grows with every new or moved deadline, so a stale timer can tell it is stale. */
  version: number;
}

/**
 * A paused validation deadline (v5). The time the deadline had left is kept; while paused the
 * deadline does not fire. With `until`, the deadlines row carries the pause's end (a new deadline
 * version) and firing it resumes the validation; without, there is no deadlines row until resumed.
 */
export interface Pause {
  paused_at: string;
  by: string;
  /** When the pause ends by itself; null: until someone resumes it. */
  until: string | null;
  /** What the deadline had left when paused; a resume sets it this far ahead. */
  remaining_ms: number;
  /** The deadline that was paused, for the history and the listing. */
  paused_due_at: string;
  reason: string | null;
}

/** How many associations the batch has, and how many of them are still pending (v3). */
export interface AssociationCounts {
  total: number;
  pending: number;
}

export interface BatchContext extends BatchInput {
  class_type: ClassType;
  language: 'en' | 'sv';
  essays: EssayRef[];
  /**
   * The association records the current event works on. Each association is persisted in its own
   * row (essay_student_associations.snapshot), and the application layer loads the ones an event needs: a
   * decision's essays, or all of them for a timeout or a decision that may settle the batch
   * (associationsNeeded). The persisted batch snapshot keeps none (persistedBatchSnapshot), so an
   * event about one essay neither reads nor rewrites the others.
   */
  associations: Record<string, AssociationRecord>;
  association_counts: AssociationCounts;
  deadline: Deadline | null;
  deadline_version: number;
  /** Set while the validation deadline is paused (v5). */
  pause: Pause | null;
  timeout_triggered: boolean;
  essays_stored: boolean;
  /** The last pipeline requested; null until one is. */
  pipeline: string | null;
  /** The client's prompt payload of the last pipeline request, kept for later phases. */
  prompt_payload: PromptPayload | null;
  /** BatchEssaysReady's student_prompt_ref, kept for later phases. */
  student_prompt_ref: unknown;
  /** Essays the essay lifecycle service reported as failing validation (non-critical reports). */
  validation_errors: number;
  org_id: string | null;
  assignment_id: string | null;
  cj_default_llm_model: string | null;
  cj_default_temperature: number | null;
  /** The phases of the last started pipeline and each phase's status, as the real ProcessingPipelineState. */
  pipeline_state: PipelineState | null;
  /** Pipeline requests answered without a command: one was active, or every phase was already done. */
  skipped_pipeline_requests: number;
  /** Pipeline requests the entitlements check refused (PipelineDeniedV1 went out). */
  denied_pipeline_requests: number;
}
