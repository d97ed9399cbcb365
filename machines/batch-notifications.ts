import type { AssociationRecord } from './association.ts';
import type { CreditCheck, RequestedPipeline, StudentInfo } from './events.ts';
import { teacherNotification } from './notifications.ts';
import { validationSummary } from './outbound.ts';
import type { Phase } from './pipelines.ts';

/**
 * The teacher notifications a batch's transitions cause, in the payloads of the real projectors
 * (BOS and CMS `notification_projector.py`); `student_matching_confirmation_required` follows the
 * websocket service's tests and the teacher dashboard's design spec (it carries the deadline).
 */

interface NotifiedBatch {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  correlation_id: string;
}

type BatchNoticeFields = Omit<Parameters<typeof teacherNotification>[0], 'teacher_id' | 'correlation_id' | 'batch_id' | 'class_id'>;

/** A notification about a batch: to its owner, under the batch's correlation id, naming the batch and its class. */
function batchNotice(batch: NotifiedBatch, fields: BatchNoticeFields, at: string) {
  return teacherNotification(
    { teacher_id: batch.owner_id, ...fields, correlation_id: batch.correlation_id, batch_id: batch.batch_id, class_id: batch.class_id },
    at,
  );
}

export function confirmationRequired(batch: NotifiedBatch, essayCount: number, dueAt: string, at: string) {
  return matchingConfirmationRequired(
    batch,
    dueAt,
    { essay_count: essayCount },
    `Confirm the suggested authors of ${essayCount} essays before ${dueAt}; after that they are decided automatically.`,
    at,
  );
}

/**
 * `student_matching_confirmation_required`: sent with the suggestions and again, marked as a
 * reminder, before the deadline; `counts` are the payload's own fields (essays, or those still pending).
 */
export function matchingConfirmationRequired(
  batch: NotifiedBatch,
  dueAt: string,
  counts: Record<string, unknown>,
  message: string,
  at: string,
) {
  return batchNotice(
    batch,
    {
      notification_type: 'student_matching_confirmation_required',
      category: 'student_workflow',
      priority: 'critical',
      action_required: true,
      deadline_timestamp: dueAt,
      payload: { batch_id: batch.batch_id, class_id: batch.class_id, ...counts, deadline_timestamp: dueAt, message },
    },
    at,
  );
}

/** An association as the confirmation notice lists it (an essay sent to UNKNOWN has no confidence). */
const announcedAssociation = (a: AssociationRecord) => ({
  essay_id: a.essay_id,
  student_id: a.student_id,
  validation_method: a.validation_method ?? 'human',
  confidence_score: a.validation_status === 'no_match' ? 0 : (a.confidence_score ?? 0),
});

interface SettledAssociations {
  listed: AssociationRecord[];
  message: string;
  correction: { correction: true; corrected_essay_ids: string[] } | Record<string, never>;
  /** The whole batch's associations, for the summary. */
  associations: Record<string, AssociationRecord>;
  timeoutTriggered: boolean;
}

/**
 * `student_associations_confirmed` listing `listed` (their count in the message), with the summary
 * of the whole batch; `correction` fields come between the message and the list, as the payload orders them.
 */
function settledAssociationsNotice(batch: NotifiedBatch, settled: SettledAssociations, at: string) {
  const { listed, message, correction, associations, timeoutTriggered } = settled;
  return batchNotice(
    batch,
    {
      notification_type: 'student_associations_confirmed',
      category: 'student_workflow',
      priority: 'high',
      payload: {
        batch_id: batch.batch_id,
        confirmed_count: listed.length,
        message,
        ...correction,
        associations: listed.map(announcedAssociation),
        validation_summary: validationSummary(associations),
        timeout_triggered: timeoutTriggered,
      },
    },
    at,
  );
}

export function associationsConfirmedNotice(
  batch: NotifiedBatch,
  associations: Record<string, AssociationRecord>,
  timeoutTriggered: boolean,
  at: string,
) {
  const listed = Object.values(associations);
  const message = `Successfully confirmed ${listed.length} student associations`;
  return settledAssociationsNotice(batch, { listed, message, correction: {}, associations, timeoutTriggered }, at);
}

/**
 * A teacher's correction after validation, in the same notification type the settled batch
 * announced (`student_associations_confirmed`): the corrected associations only, their essay ids,
 * and the summary of the whole batch as it now stands. `correction: true` tells it from the first.
 */
export function associationsCorrectedNotice(
  batch: NotifiedBatch,
  corrected: AssociationRecord[],
  associations: Record<string, AssociationRecord>,
  timeoutTriggered: boolean,
  at: string,
) {
  const correction = { correction: true as const, corrected_essay_ids: corrected.map((a) => a.essay_id) };
  const message = `Corrected ${corrected.length} student associations`;
  return settledAssociationsNotice(batch, { listed: corrected, message, correction, associations, timeoutTriggered }, at);
}

export function timeoutProcessedNotice(
  batch: NotifiedBatch,
  decided: AssociationRecord[],
  students: Record<string, StudentInfo>,
  timeoutHours: number,
  at: string,
) {
  const kept = decided.filter((a) => a.validation_status === 'timeout_confirmed');
  return batchNotice(
    batch,
    {
      notification_type: 'validation_timeout_processed',
      category: 'student_workflow',
      priority: 'immediate',
      payload: {
        batch_id: batch.batch_id,
        auto_confirmed_count: kept.length,
        unknown_student_count: decided.length - kept.length,
        timeout_hours: timeoutHours,
        message: `Validation timeout: ${kept.length} student matches auto-confirmed after ${timeoutHours} hours`,
        auto_confirmed_associations: kept.map((a) => {
          const student = a.student_id === null ? undefined : students[a.student_id];
          return {
            essay_id: a.essay_id,
            student_name: student ? `${student.first_name} ${student.last_name}`.trim() : '',
            confidence_score: a.confidence_score ?? 0,
            is_confirmed: true,
          };
        }),
      },
    },
    at,
  );
}

export function processingStarted(batch: NotifiedBatch, requested: RequestedPipeline, resolved: Phase[], at: string) {
  return batchNotice(
    batch,
    {
      notification_type: 'batch_processing_started',
      category: 'batch_progress',
      priority: 'low',
      payload: {
        batch_id: batch.batch_id,
        requested_pipeline: requested,
        resolved_pipeline: resolved,
        first_phase: resolved[0] ?? null,
        total_phases: resolved.length,
        message: `Processing started: ${resolved.join(' → ')}`,
      },
    },
    at,
  );
}

export function pipelineDeniedNotice(
  batch: NotifiedBatch & { org_id: string | null },
  requested: RequestedPipeline,
  credits: Extract<CreditCheck, { allowed: false }>,
  at: string,
) {
  const rateLimited = credits.denial_reason !== 'insufficient_credits';
  return batchNotice(
    batch,
    {
      notification_type: rateLimited ? 'pipeline_denied_rate_limit' : 'pipeline_denied_insufficient_credits',
      category: 'batch_progress',
      priority: 'immediate',
      action_required: true,
      payload: {
        batch_id: batch.batch_id,
        requested_pipeline: requested,
        denial_reason: credits.denial_reason,
        required_credits: credits.required_credits,
        available_credits: credits.available_credits,
        resource_breakdown: credits.resource_breakdown,
        org_id: batch.org_id,
        credit_deficit: Math.max(0, credits.required_credits - credits.available_credits),
        message: rateLimited
          ? 'Too many pipeline requests right now; try again shortly.'
          : `Not enough credits: ${credits.required_credits} needed, ${credits.available_credits} available.`,
      },
    },
    at,
  );
}
