import type { AssociationRecord } from './association.ts';
import { batchEvent } from './batch-event.ts';
import { type CourseCode, SYSTEM_TIMEOUT } from './domain.ts';
import { type EssayRef, type StudentInfo, TOPICS } from './events.ts';
import type { teacherNotification } from './notifications.ts';
import type { phaseCommand, pipelineDenied } from './phase-commands.ts';

/**
 * The bodies this service publishes, in the shapes the real HuleEdu models validate
 * (tests/fixtures/huleedu/ holds their JSON Schemas; the wire contract test checks every one).
 * Pure functions of the batch's facts, so the machine's emit actions stay one line each.
 */

/** What the outbound bodies need to know about the batch. */
export interface BatchFacts {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  course_code: CourseCode;
  correlation_id: string;
  language: 'en' | 'sv';
}

/**
 * The class of a batch that asks for matching or announces confirmed associations. Only a REGULAR
 * batch does (a GUEST batch is ready at provisioning), so a batch without a class here is a bug in
 * the chart, and it throws rather than publish an empty class id.
 */
function classIdOf(batch: BatchFacts): string {
  if (batch.class_id === null)
    throw new Error(`invariant broken: GUEST batch ${batch.batch_id} cannot announce a class's student associations`);
  return batch.class_id;
}

export interface ValidationSummary {
  total_associations: number;
  confirmed: number;
  rejected: number;
  timeout_confirmed: number;
  no_match: number;
  human_validated: number;
  timeout_validated: number;
}

export function validationSummary(associations: Record<string, AssociationRecord>): ValidationSummary {
  const summary: ValidationSummary = {
    total_associations: 0,
    confirmed: 0,
    rejected: 0,
    timeout_confirmed: 0,
    no_match: 0,
    human_validated: 0,
    timeout_validated: 0,
  };
  for (const a of Object.values(associations)) {
    summary.total_associations++;
    if (a.validation_status !== 'pending_validation') summary[a.validation_status]++;
    if (a.validation_method === 'human') summary.human_validated++;
    if (a.validation_method === 'timeout') summary.timeout_validated++;
  }
  return summary;
}

export function studentMatchingCommand(batch: BatchFacts, essays: EssayRef[], at: string) {
  return batchEvent(TOPICS.studentMatchingCommand, 'batch.student.matching.initiate.command', batch, at, {
    essays_to_process: essays,
    class_id: classIdOf(batch),
    course_code: batch.course_code,
  });
}

export function associationsConfirmed(
  batch: BatchFacts,
  associations: Record<string, AssociationRecord>,
  timeoutTriggered: boolean,
  at: string,
) {
  return batchEvent(TOPICS.associationsConfirmed, 'student.associations.confirmed', batch, at, {
    batch_id: batch.batch_id,
    class_id: classIdOf(batch),
    course_code: batch.course_code,
    associations: Object.values(associations).map((a) => ({
      essay_id: a.essay_id,
      student_id: a.student_id,
      confidence_score: a.validation_status === 'no_match' ? 0 : (a.confidence_score ?? 0),
      validation_method: a.validation_method ?? 'human',
      validated_by: a.validated_by,
      validated_at: a.validated_at,
    })),
    timeout_triggered: timeoutTriggered,
    validation_summary: validationSummary(associations),
  });
}

/** EssayStudentAssociationUpdatedV1: one decided association, with the student's name as the roster has it. */
export function associationUpdated(batch: BatchFacts, a: AssociationRecord, students: Record<string, StudentInfo>, at: string) {
  const student = a.student_id === null ? undefined : students[a.student_id];
  return {
    type: TOPICS.associationUpdated,
    data: {
      event: 'essay.student.association.updated',
      batch_id: batch.batch_id,
      essay_id: a.essay_id,
      student_id: a.student_id,
      first_name: student?.first_name ?? null,
      last_name: student?.last_name ?? null,
      student_email: student?.email ?? null,
      association_method: a.validation_method ?? 'human',
      confidence_score: a.validation_status === 'no_match' ? 0 : a.confidence_score,
      created_by_user_id: a.validated_by ?? SYSTEM_TIMEOUT,
      correlation_id: batch.correlation_id,
      timestamp: at,
    },
  } as const;
}

/**
 * ValidationTimeoutProcessedV1. The real service moves unsure essays to a guest class; this one
 * links the class's UNKNOWN student instead, so those essays are `guest_essays` and no class is made.
 */
export function timeoutProcessed(
  batch: BatchFacts,
  decided: AssociationRecord[],
  students: Record<string, StudentInfo>,
  timeoutHours: number,
  at: string,
) {
  return batchEvent(TOPICS.timeoutProcessed, 'validation.timeout.processed', batch, at, {
    batch_id: batch.batch_id,
    user_id: batch.owner_id,
    timeout_hours: timeoutHours,
    auto_confirmed_associations: decided
      .filter((a) => a.validation_status === 'timeout_confirmed')
      .map((a) => {
        const student = a.student_id === null ? undefined : students[a.student_id];
        return {
          essay_id: a.essay_id,
          student_first_name: student?.first_name ?? '',
          student_last_name: student?.last_name ?? '',
          student_email: student?.email ?? null,
          confidence_score: a.confidence_score ?? 0,
          is_confirmed: true,
        };
      }),
    guest_essays: decided.filter((a) => a.validation_status === 'no_match').map((a) => a.essay_id),
    guest_class_created: false,
    guest_class_id: null,
    processing_timestamp: at,
  });
}

export type BatchEmitted =
  | ReturnType<typeof studentMatchingCommand>
  | ReturnType<typeof associationsConfirmed>
  | ReturnType<typeof associationUpdated>
  | ReturnType<typeof timeoutProcessed>
  | ReturnType<typeof phaseCommand>
  | ReturnType<typeof pipelineDenied>
  | ReturnType<typeof teacherNotification>;
