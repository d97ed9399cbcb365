import type { AssociationRecord } from './association.ts';
import type { ClassType, CourseCode } from './domain.ts';
import type { EssayRef, PromptPayload } from './events.ts';

/**
 * What a batch snapshot holds. Its keys are part of the released machine versions
 * (tests/fixtures/machine-shapes): a change here is a new BATCH_MACHINE_VERSION and a migration.
 *
 * v2: GUEST batches go to ready_for_pipeline_execution on provisioning (awaiting_pipeline_configuration
 * is gone); a pipeline request keeps the batch ready (processing_pipelines is gone); failed_critically;
 * prompt references, validation error counts, and every suggestion with the filename per association.
 * v3: association records are their own rows, not part of the persisted batch snapshot; the batch
 * keeps association_counts, and `associations` holds only the records the current event works on.
 */

export interface BatchInput {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  course_code: CourseCode;
  expected_essay_count: number;
  correlation_id: string;
}

export interface Deadline {
  due_at: string;
  /** Grows with every new or moved deadline, so a stale timer can tell it is stale. */
  version: number;
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
   * The association records the current event works on. Each association is its own persisted
   * row (association_snapshots), and the application layer loads the ones an event needs: a
   * decision's essays, or all of them for a timeout or a decision that may settle the batch
   * (associationsNeeded). The persisted batch snapshot keeps none (persistedBatchSnapshot), so an
   * event about one essay neither reads nor rewrites the others.
   */
  associations: Record<string, AssociationRecord>;
  association_counts: AssociationCounts;
  deadline: Deadline | null;
  deadline_version: number;
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
}
