import type { AssociationRecord } from '../machines/association.ts';
import type { BatchContext } from '../machines/batch.ts';
import type { StudentPromptRef, TeacherDecision } from '../machines/events.ts';
import type { CreditChecker } from './credits.ts';
import { type PipelineAsk, pipelineRequested } from './pipelines.ts';
import type { EventRequest } from './apply.ts';
import type { TraceCarrier } from './tracing.ts';

/**
 * Builders of the requests that teachers and timers make. Each only translates intent into a
 * machine event; the machine decides whether it applies.
 */

export interface TeacherCall {
  teacherId: string;
  batchId: string;
  /** Idempotency key of the call, namespaced by teacher and batch by the caller. */
  eventId: string;
  /** What the teacher asked (app/idempotency.ts), stored with the key. */
  fingerprint?: string;
  correlationId: string | null;
  /** The W3C trace context of the HTTP request (`traceparent` header), if it had one. */
  trace?: TraceCarrier;
}

/** The part every teacher request shares: who acts, on which batch they own, under which key. */
function asTeacher(call: TeacherCall) {
  return {
    batchId: call.batchId,
    eventId: call.eventId,
    ...(call.fingerprint === undefined ? {} : { fingerprint: call.fingerprint }),
    actor: call.teacherId,
    correlationId: call.correlationId,
    ownerId: call.teacherId,
    ...(call.trace ? { trace: call.trace } : {}),
  };
}

export type DecisionResult =
  | { essay_id: string; outcome: 'applied'; validation_status: string; student_id: string | null }
  | { essay_id: string; outcome: 'refused'; reason: string; validation_status: string | null };

export function decideAssociations(call: TeacherCall, decisions: TeacherDecision[]): EventRequest {
  return {
    ...asTeacher(call),
    associations: {
      essays: decisions.map((d) => d.essay_id),
      students: decisions.flatMap((d) => (d.confirmed && d.student_id ? [d.student_id] : [])),
    },
    build: async (context, lookups, at) => {
      const named = decisions.flatMap((d) => (d.confirmed && d.student_id ? [d.student_id] : []));
      const suggested = decisions.flatMap((d) => context.associations[d.essay_id]?.suggested_student_id ?? []);
      // The roster holds exactly the students of the class among the ids: one read answers both questions.
      const students = await lookups.rosterOf(context.class_id, [...named, ...suggested]);
      const inClass = new Set(named.filter((id) => Object.hasOwn(students, id)));
      return {
        ok: true,
        event: {
          type: 'TEACHER_DECISIONS',
          at,
          teacher_id: call.teacherId,
          students,
          decisions: decisions.map((d) => ({
            ...d,
            student_in_class: !d.confirmed || d.student_id === undefined || inClass.has(d.student_id),
          })),
        },
      };
    },
    respond: (before, after) => {
      const results = decisionResults(decisions, before, after);
      const applied = results.filter((r) => r.outcome === 'applied');
      // The class service's answer counts what this call confirmed (or corrected) and rejected.
      return {
        results,
        associations_confirmed: applied.filter((r) => r.validation_status === 'confirmed').length,
        associations_rejected: applied.filter((r) => r.validation_status === 'rejected').length,
      };
    },
  };
}

function decisionResults(decisions: TeacherDecision[], before: BatchContext, after: BatchContext): DecisionResult[] {
  return decisions.map((d) => {
    const was: AssociationRecord | undefined = before.associations[d.essay_id];
    const now = after.associations[d.essay_id];
    if (!was || !now)
      return {
        essay_id: d.essay_id,
        outcome: 'refused',
        reason: 'not an essay of this batch awaiting validation',
        validation_status: null,
      };
    if (was.validation_status !== 'pending_validation') {
      return {
        essay_id: d.essay_id,
        outcome: 'refused',
        reason: `already decided (${was.validation_status})`,
        validation_status: was.validation_status,
      };
    }
    if (now.validation_status === 'pending_validation') {
      const reason =
        d.confirmed && d.student_id !== undefined
          ? `student ${d.student_id} is not in the batch's class`
          : d.confirmed
            ? 'there is no suggested student to confirm; name a student_id'
            : 'the batch does not accept decisions in its current state';
      return { essay_id: d.essay_id, outcome: 'refused', reason, validation_status: now.validation_status };
    }
    return { essay_id: d.essay_id, outcome: 'applied', validation_status: now.validation_status, student_id: now.student_id };
  });
}

export type ReopenResult =
  | { essay_id: string; outcome: 'applied'; validation_status: string; reopened_from: string }
  | { essay_id: string; outcome: 'refused'; reason: string; validation_status: string | null };

/**
 * Takes back decisions the teacher made while the batch still waits: each named association is
 * pending again, for a new decision or the deadline. Per essay, the answer says what it was or why not.
 */
export function reopenDecisions(call: TeacherCall, essayIds: string[], reason: string | null): EventRequest {
  return {
    ...asTeacher(call),
    associations: { essays: essayIds },
    build: (_context, _lookups, at) => ({
      ok: true,
      event: { type: 'TEACHER_REOPENED', at, teacher_id: call.teacherId, essay_ids: essayIds, reason },
    }),
    respond: (before, after) => {
      const results = essayIds.map((essayId) => reopenResult(essayId, before.associations[essayId], after.associations[essayId]));
      return { results, associations_reopened: results.filter((r) => r.outcome === 'applied').length };
    },
  };
}

function reopenResult(essayId: string, was: AssociationRecord | undefined, now: AssociationRecord | undefined): ReopenResult {
  if (!was || !now) {
    return { essay_id: essayId, outcome: 'refused', reason: 'not an essay of this batch awaiting validation', validation_status: null };
  }
  if (now.validation_status === 'pending_validation' && was.validation_status !== 'pending_validation') {
    return { essay_id: essayId, outcome: 'applied', validation_status: now.validation_status, reopened_from: was.validation_status };
  }
  const reason =
    was.validation_status === 'pending_validation'
      ? 'not decided yet; nothing to reopen'
      : `decided by the deadline (${was.validation_status}); only a teacher's decision can be reopened`;
  return { essay_id: essayId, outcome: 'refused', reason, validation_status: was.validation_status };
}

export interface CorrectionRequest {
  essay_id: string;
  student_id: string;
  reason?: string | undefined;
}

export type CorrectionResult =
  | {
      essay_id: string;
      outcome: 'applied';
      validation_status: string;
      student_id: string | null;
      corrected_from: string;
      previous_student_id: string | null;
    }
  | { essay_id: string; outcome: 'refused'; reason: string; validation_status: string | null };

/**
 * Corrects decided associations after validation (the teacher's own decisions, or the deadline's:
 * a kept suggestion, or the UNKNOWN student) until a pipeline is requested. All or none: when one
 * correction cannot apply the machine refuses the whole event, and each item says why.
 */
export function correctAssociations(call: TeacherCall, corrections: CorrectionRequest[]): EventRequest {
  const named = [...new Set(corrections.map((c) => c.student_id))];
  let inClass = new Set<string>();
  return {
    ...asTeacher(call),
    associations: { essays: corrections.map((c) => c.essay_id), students: named },
    build: async (context, lookups, at) => {
      // The roster holds exactly the students of the class among the ids: one read names them and says who belongs.
      const students = context.class_id === null ? {} : await lookups.rosterOf(context.class_id, named);
      inClass = new Set(named.filter((id) => Object.hasOwn(students, id)));
      return {
        ok: true,
        event: {
          type: 'TEACHER_CORRECTED',
          at,
          teacher_id: call.teacherId,
          students,
          corrections: corrections.map((c) => ({
            essay_id: c.essay_id,
            student_id: c.student_id,
            student_in_class: inClass.has(c.student_id),
            reason: c.reason ?? null,
          })),
        },
      };
    },
    respond: (before, after) => {
      const results = correctionResults(corrections, inClass, before, after);
      return { results, associations_corrected: results.filter((r) => r.outcome === 'applied').length };
    },
  };
}

function correctionResults(
  corrections: CorrectionRequest[],
  inClass: Set<string>,
  before: BatchContext,
  after: BatchContext,
): CorrectionResult[] {
  const problems = corrections.map((c) => correctionProblem(c, inClass, before));
  const someProblem = problems.some((p) => p !== null);
  return corrections.map((c, i) => {
    const was = before.associations[c.essay_id];
    const now = after.associations[c.essay_id];
    if (was && now && was !== now) {
      return {
        essay_id: c.essay_id,
        outcome: 'applied',
        validation_status: now.validation_status,
        student_id: now.student_id,
        corrected_from: was.validation_status,
        previous_student_id: was.student_id,
      };
    }
    const reason =
      problems[i] ??
      (someProblem
        ? 'not applied: corrections are all or none, and another one in this call was refused'
        : 'the batch does not accept corrections in its current state');
    return { essay_id: c.essay_id, outcome: 'refused', reason, validation_status: was?.validation_status ?? null };
  });
}

/** Why one correction cannot apply, read from the batch before it; null when it could. */
function correctionProblem(c: CorrectionRequest, inClass: Set<string>, before: BatchContext): string | null {
  const was = before.associations[c.essay_id];
  if (!was) return 'not an essay of this batch with a decided association';
  if (was.validation_status === 'pending_validation') return 'not decided yet; decide it with a decision, not a correction';
  if (before.association_counts.pending > 0) {
    return 'the batch still awaits the teacher: reopen the decision and decide again instead';
  }
  if (before.pipeline !== null) return 'a pipeline was requested; the authors can no longer be corrected';
  if (!inClass.has(c.student_id)) return `student ${c.student_id} is not in the batch's class`;
  if (was.student_id === c.student_id) return `already associated with student ${c.student_id}`;
  return null;
}

export function requestPipeline(call: TeacherCall, ask: Omit<PipelineAsk, 'requestedBy'>, credits: CreditChecker): EventRequest {
  return {
    ...asTeacher(call),
    build: async (context, _lookups, at) => ({
      ok: true,
      event: await pipelineRequested(context, { ...ask, requestedBy: call.teacherId }, credits, at),
    }),
  };
}

export function amendPrompt(call: TeacherCall, studentPromptRef: StudentPromptRef): EventRequest {
  return {
    ...asTeacher(call),
    build: (_context, _lookups, at) => ({
      ok: true,
      event: { type: 'PROMPT_AMENDED', at, by: call.teacherId, student_prompt_ref: studentPromptRef },
    }),
  };
}

export function cancelBatch(call: TeacherCall, reason: string | null): EventRequest {
  return {
    ...asTeacher(call),
    build: (_context, _lookups, at) => ({ ok: true, event: { type: 'CANCEL', at, by: call.teacherId, reason } }),
  };
}

export type DeadlineRequest = { extend_by_ms: number } | { due_at: string };

/** Moves a pending deadline: later by some time, or to a given instant; never into the past. */
export function changeDeadline(call: TeacherCall, change: DeadlineRequest): EventRequest {
  return {
    ...asTeacher(call),
    build: (context, _lookups, at) => {
      const current = context.deadline?.due_at ?? null;
      const dueAt =
        'due_at' in change
          ? new Date(change.due_at).toISOString()
          : current === null
            ? null
            : new Date(Date.parse(current) + change.extend_by_ms).toISOString();
      if (dueAt === null) {
        // No pending deadline: let the machine refuse it with the states that would accept it.
        return { ok: true, event: { type: 'DEADLINE_CHANGED', at, by: call.teacherId, due_at: at } };
      }
      if (Date.parse(dueAt) <= Date.parse(at)) {
        const path = 'due_at' in change ? 'due_at' : 'extend_by_ms';
        return { ok: false, errors: [{ path, message: `the new deadline ${dueAt} is not in the future` }] };
      }
      return { ok: true, event: { type: 'DEADLINE_CHANGED', at, by: call.teacherId, due_at: dueAt } };
    },
    respond: (_before, after) => ({ due_at: after.deadline?.due_at ?? null }),
  };
}

/** What a pause or a resume answers: the pause (or none) and the pending deadline after it. */
export function pauseView(context: BatchContext) {
  const p = context.pause;
  return {
    paused:
      p === null
        ? null
        : { paused_at: p.paused_at, by: p.by, until: p.until, remaining_ms: p.remaining_ms, paused_due_at: p.paused_due_at },
    due_at: p === null ? (context.deadline?.due_at ?? null) : null,
  };
}

/**
 * Pauses the running validation deadline, until `until` or until resumed. An end not in the future
 * is bad input (400); nothing to pause (no deadline, already paused, already due) is the machine's
 * refusal (409).
 */
export function pauseValidation(call: TeacherCall, until: string | null, reason: string | null): EventRequest {
  return { ...asTeacher(call), ...pauseRequest(call.teacherId, until, reason) };
}

/** The build and answer of a pause, for a teacher's call and an operator's pause of a class. */
export function pauseRequest(by: string, until: string | null, reason: string | null): Pick<EventRequest, 'build' | 'respond'> {
  return {
    build: (_context, _lookups, at) => {
      const end = until === null ? null : new Date(until).toISOString();
      if (end !== null && Date.parse(end) <= Date.parse(at)) {
        return { ok: false, errors: [{ path: 'until', message: `the pause's end ${end} is not in the future` }] };
      }
      return { ok: true, event: { type: 'VALIDATION_PAUSED', at, by, until: end, reason } };
    },
    respond: (_before, after) => pauseView(after),
  };
}

/** Resumes a paused validation deadline with the time it had left; 409 when nothing is paused. */
export function resumeValidation(call: TeacherCall): EventRequest {
  return { ...asTeacher(call), ...resumeRequest(call.teacherId) };
}

export function resumeRequest(by: string): Pick<EventRequest, 'build' | 'respond'> {
  return {
    build: (_context, _lookups, at) => ({ ok: true, event: { type: 'VALIDATION_RESUMED', at, by, deadline_version: null } }),
    respond: (before, after) => ({ ...pauseView(after), remaining_ms: before.pause?.remaining_ms ?? null }),
  };
}

/**
 * The deadline firing. Its event id is the timer's, so a second firing is a duplicate. It applies
 * only once its deadline is due (less `clockSkewMs`, for clocks that drift apart): a job promoted
 * by hand or fired by a clock running ahead changes nothing and answers `not_due`.
 */
export function validationTimeout(batchId: string, deadlineVersion: number, firedBy: 'bullmq' | 'sweep', clockSkewMs = 0): EventRequest {
  return {
    batchId,
    eventId: timeoutEventId(batchId, deadlineVersion),
    actor: 'timeout',
    correlationId: null,
    auditDetail: { fired_by: firedBy },
    associations: 'all',
    build: async (context, lookups, at) => {
      // The deadlines row is what the timers and the sweep schedule by; it moves with the snapshot.
      const dueAt = context.deadline?.version === deadlineVersion ? await lookups.deadlineDueAt(batchId, deadlineVersion) : null;
      if (dueAt !== null && Date.parse(at) < Date.parse(dueAt) - clockSkewMs) return { ok: false, notDueUntil: dueAt };
      if (context.pause !== null && context.deadline?.version === deadlineVersion) {
        // The pending deadline of a paused batch is the pause's end: firing it resumes the validation.
        return { ok: true, event: { type: 'VALIDATION_RESUMED', at, by: 'timeout', deadline_version: deadlineVersion } };
      }
      if (context.class_id === null) {
        return {
          ok: true,
          event: { type: 'VALIDATION_TIMEOUT', at, deadline_version: deadlineVersion, unknown_student_id: '', students: {} },
        };
      }
      const unknown = await lookups.unknownStudentFor(context.class_id);
      const suggested = Object.values(context.associations).flatMap((a) => a.suggested_student_id ?? []);
      const students = await lookups.rosterOf(context.class_id, [...suggested, unknown.id]);
      if (unknown.newStudent) students[unknown.id] = unknown.newStudent;
      return {
        ok: true,
        event: { type: 'VALIDATION_TIMEOUT', at, deadline_version: deadlineVersion, unknown_student_id: unknown.id, students },
        newStudents: unknown.newStudent ? [unknown.newStudent] : [],
      };
    },
  };
}

export function timeoutEventId(batchId: string, deadlineVersion: number): string {
  return `deadline-${batchId}-v${deadlineVersion}`;
}
