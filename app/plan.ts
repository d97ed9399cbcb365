import { ASSOCIATION_MACHINE_VERSION, type AssociationRecord } from '../machines/association.ts';
import { BATCH_MACHINE_VERSION, type BatchContext, type BatchEmitted, batchMachine } from '../machines/batch.ts';
import { batchStatusOf, eventsAcceptedIn, stateString } from '../machines/describe.ts';
import { type BatchEvent, WIRE_NAME } from '../machines/events.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { step } from '../machines/step.ts';
import type { DeadlineWrite, HistoryRow, OutboxMessage, StudentRow, TransitionWrite } from '../db/transition-types.ts';
import { outboxEnvelope } from './envelope.ts';
import type { AppliedBody, ApplyOutcome, EventRequest } from './requests.ts';
import type { BatchSnapshot } from './snapshots.ts';
import type { TraceCarrier } from './tracing.ts';

/**
 * The pure half of applying an event: from the snapshot and the built event to everything the
 * transition writes. No database, no clock, no randomness beyond the outbox envelopes' ids.
 */

export interface PlanInput {
  request: Pick<EventRequest, 'batchId' | 'eventId' | 'fingerprint' | 'actor' | 'correlationId' | 'auditDetail' | 'respond'>;
  before: BatchSnapshot;
  /** The snapshot row's version the plan was made against; the write is guarded by it. */
  rowVersion: number;
  event: BatchEvent;
  /** Students the event's build found missing (the class's UNKNOWN student). */
  newStudents?: StudentRow[];
  at: string;
  /** The trace context for the metadata of every event the transition emits. */
  trace?: TraceCarrier;
  /**
   * The snapshot was written by a version that kept the association records inside it (before v3):
   * its restored working set holds them all, and this write stores every one as its own row.
   */
  storeEveryAssociation?: boolean;
}

export type RefusedOutcome = Extract<ApplyOutcome, { kind: 'refused' }>;

export type TransitionPlan =
  /** The machine took the event: the answer and the one statement that commits it. */
  | { kind: 'applied'; body: AppliedBody; write: TransitionWrite; event_type: string; from_state: string }
  /** The machine refused it: the answer and the history row that records the refusal. */
  | { kind: 'refused'; body: RefusedOutcome; write: HistoryRow };

/** The projection's `due_at`: when the timeout decides; none while paused (the deadlines row then holds the pause's end, if any). */
export const projectedDueAt = (context: BatchContext): string | null =>
  context.pause === null ? (context.deadline?.due_at ?? null) : null;

export function planTransition(input: PlanInput): TransitionPlan {
  const { request, before, event, at } = input;
  const [after, actions] = step(batchMachine, before, event);
  if (after === before) return planRefusal(input);

  const fromState = stateString(before.value);
  const toState = stateString(after.value);
  const body: AppliedBody = {
    event_id: request.eventId,
    batch_id: request.batchId,
    state: toState,
    status: batchStatusOf(after.value),
    version: input.rowVersion + 1,
    duplicate: false,
    ...request.respond?.(before.context, after.context),
  };
  const associations = associationChanges(before.context, after.context);
  const usedStudents = new Set(Object.values(after.context.associations).map((a) => a.student_id));
  // Named emit actions surface as `xstate.emit` with the event in their params.
  const emitted = (actions as Array<{ type: string; params?: unknown }>).flatMap((a) =>
    a.type === 'xstate.emit' ? [(a.params as { event: BatchEmitted }).event] : [],
  );
  const write: TransitionWrite = {
    batchId: request.batchId,
    expectedVersion: input.rowVersion,
    machineVersion: BATCH_MACHINE_VERSION,
    snapshot: persistedBatchSnapshot(after),
    status: body.status,
    state: toState,
    dueAt: projectedDueAt(after.context),
    promptPayload: after.context.prompt_payload,
    studentPromptRef: after.context.student_prompt_ref,
    processed: { eventId: request.eventId, response: body, fingerprint: request.fingerprint ?? null },
    history: auditRow(request, event, before.context, at, {
      from_state: fromState,
      to_state: toState,
      outcome: 'applied',
      reason: null,
      detail: historyDetail(event, before.context, after.context),
    }),
    outbox: emitted.map((e) => outboxRow(e, after.context, at, input.trace)),
    deadline: deadlineChange(before.context, after.context),
    newAssociations: associations.created,
    changedAssociations: associations.changed,
    associationSnapshots: input.storeEveryAssociation
      ? Object.values(after.context.associations)
      : [...associations.created, ...associations.changed],
    associationMachineVersion: ASSOCIATION_MACHINE_VERSION,
    newStudents: (input.newStudents ?? []).filter((s) => usedStudents.has(s.id)),
  };
  return { kind: 'applied', body, write, event_type: WIRE_NAME[event.type], from_state: fromState };
}

function planRefusal({ request, before, event, at, rowVersion }: PlanInput): TransitionPlan {
  const state = stateString(before.value);
  const late = event.type === 'VALIDATION_TIMEOUT';
  const allowed = eventsAcceptedIn(before).map((t) => WIRE_NAME[t as BatchEvent['type']] ?? t);
  const history = auditRow(request, event, before.context, at, {
    from_state: state,
    to_state: null,
    outcome: late ? 'late' : 'refused',
    reason: late
      ? before.context.pause !== null
        ? 'the validation deadline is paused; it does not fire while paused'
        : before.context.deadline === null
          ? 'validation already completed; nothing left to time out'
          : `stale deadline version ${event.deadline_version} (current ${before.context.deadline.version})`
      : allowed.includes(WIRE_NAME[event.type])
        ? `state ${state} accepts ${WIRE_NAME[event.type]}, but its conditions do not hold for this one`
        : `state ${state} does not accept ${WIRE_NAME[event.type]}`,
    detail: undefined,
  });
  const body: RefusedOutcome = {
    kind: 'refused',
    state,
    status: batchStatusOf(before.value),
    event: WIRE_NAME[event.type],
    allowed_events: allowed,
    version: rowVersion,
    late,
    extra: request.respond?.(before.context, before.context) ?? {},
  };
  return { kind: 'refused', body, write: history };
}

/** The history row of one applied or refused event: who, what, when, and the caller's audit facts. */
function auditRow(
  request: PlanInput['request'],
  event: BatchEvent,
  context: BatchContext,
  at: string,
  row: Pick<HistoryRow, 'from_state' | 'to_state' | 'outcome' | 'reason' | 'detail'>,
): HistoryRow {
  return {
    ...row,
    event_type: WIRE_NAME[event.type],
    event_id: request.eventId,
    actor: request.actor,
    correlation_id: request.correlationId ?? context.correlation_id,
    at,
    detail: withAudit(row.detail, request.auditDetail),
    machine_input: replayInput(event, request.auditDetail),
  };
}

/** What a transition's history row keeps for the audit's replay (app/audit.ts): the built event and the audit facts. */
export interface TransitionInput {
  event: BatchEvent;
  audit?: Record<string, unknown>;
}

function replayInput(event: BatchEvent, audit: Record<string, unknown> | undefined): TransitionInput {
  return audit === undefined ? { event } : { event, audit };
}

/** Essays an event settled (pending before, decided after), so the history can name them. */
function settledEssays(before: BatchContext, after: BatchContext) {
  return Object.entries(after.associations)
    .filter(
      ([essayId, record]) =>
        before.associations[essayId]?.validation_status === 'pending_validation' && record.validation_status !== 'pending_validation',
    )
    .map(([essayId, record]) => ({ essay_id: essayId, validation_status: record.validation_status, student_id: record.student_id }));
}

/** Essays an event reopened (decided before, pending after), with the decision taken back. */
function reopenedEssays(before: BatchContext, after: BatchContext) {
  return Object.entries(after.associations).flatMap(([essayId, record]) => {
    const was = before.associations[essayId];
    if (!was || was.validation_status === 'pending_validation' || record.validation_status !== 'pending_validation') return [];
    return [{ essay_id: essayId, reopened_from: was.validation_status, student_id: was.student_id, decided_by: was.validated_by }];
  });
}

/**
 * Essays a correction changed: the decision it replaced (what it was, who took it and when) and
 * the new author, who corrected it and why. The replaced decision's own history row stays as written.
 */
function correctedEssays(event: Extract<BatchEvent, { type: 'TEACHER_CORRECTED' }>, before: BatchContext, after: BatchContext) {
  return event.corrections.flatMap((c) => {
    const was = before.associations[c.essay_id];
    const now = after.associations[c.essay_id];
    if (!was || !now || was === now) return [];
    return [
      {
        essay_id: c.essay_id,
        replaced: {
          validation_status: was.validation_status,
          student_id: was.student_id,
          validation_method: was.validation_method,
          decided_by: was.validated_by,
          decided_at: was.validated_at,
        },
        student_id: now.student_id,
        corrected_by: event.teacher_id,
        reason: c.reason,
      },
    ];
  });
}

type Detail<T extends BatchEvent['type']> = (event: Extract<BatchEvent, { type: T }>, before: BatchContext, after: BatchContext) => unknown;

/**
 * What the audit log keeps beyond the states, for every event type (a new event must say, or the
 * compiler stops here): deadline moves, how late a deadline fired, what a decision settled or a
 * reopening took back, why a batch was cancelled.
 */
const HISTORY_DETAIL: { [T in BatchEvent['type']]: Detail<T> } = {
  CONTENT_PROVISIONED: () => undefined,
  AUTHOR_MATCHES_SUGGESTED: (event) =>
    event.deadline_reason ? { due_at: event.due_at, deadline_reason: event.deadline_reason } : undefined,
  TEACHER_DECISIONS: (_event, before, after) => ({ decided: settledEssays(before, after) }),
  TEACHER_REOPENED: (event, before, after) => ({ reopened: reopenedEssays(before, after), reason: event.reason }),
  TEACHER_CORRECTED: (event, before, after) => ({ corrected: correctedEssays(event, before, after) }),
  VALIDATION_TIMEOUT: (event, before, after) =>
    before.deadline
      ? {
          deadline_version: before.deadline.version,
          due_at: before.deadline.due_at,
          lateness_ms: Date.parse(event.at) - Date.parse(before.deadline.due_at),
          decided: settledEssays(before, after),
        }
      : undefined,
  DEADLINE_CHANGED: (event, before, after) =>
    after.deadline
      ? {
          from_due_at: before.deadline?.due_at ?? null,
          to_due_at: after.deadline.due_at,
          deadline_version: after.deadline.version,
          deadline_reason: event.deadline_reason ?? { rule: 'moved', by: event.by },
        }
      : undefined,
  VALIDATION_PAUSED: (event, before, after) =>
    after.pause
      ? {
          paused_by: event.by,
          paused_due_at: after.pause.paused_due_at,
          remaining_ms: after.pause.remaining_ms,
          until: after.pause.until,
          // With an end, the pause's end is the pending deadline (its version); without, none is pending.
          resume_deadline_version: after.deadline?.version ?? null,
          from_deadline_version: before.deadline?.version ?? null,
          reason: event.reason,
        }
      : undefined,
  VALIDATION_RESUMED: (event, before, after) =>
    before.pause && after.deadline
      ? {
          paused_at: before.pause.paused_at,
          paused_by: before.pause.by,
          remaining_ms: before.pause.remaining_ms,
          automatic: event.deadline_version !== null,
          to_due_at: after.deadline.due_at,
          deadline_version: after.deadline.version,
          deadline_reason: { rule: 'resumed', by: event.by, remaining_ms: before.pause.remaining_ms },
        }
      : undefined,
  ESSAYS_READY: (_event, before) =>
    before.class_type === 'GUEST' ? { note: 'BatchEssaysReady for a GUEST batch: accepted, changes nothing' } : undefined,
  PIPELINE_REQUESTED: (event) => ({ requested_pipeline: event.pipeline }),
  PHASE_OUTCOME: () => undefined,
  PROMPT_AMENDED: () => undefined,
  VALIDATION_ERRORS: (event) => ({
    critical_failure: event.critical,
    total_errors: event.total_errors,
    failed_essay_ids: event.failed_essay_ids,
  }),
  CANCEL: (event) => ({ reason: event.reason }),
};

function historyDetail<E extends BatchEvent>(event: E, before: BatchContext, after: BatchContext): unknown {
  return (HISTORY_DETAIL[event.type as E['type']] as Detail<E['type']>)(event as never, before, after);
}

function withAudit(detail: unknown, audit: Record<string, unknown> | undefined): unknown {
  if (audit === undefined) return detail;
  return { ...(detail as Record<string, unknown> | undefined), ...audit };
}

function deadlineChange(before: BatchContext, after: BatchContext): DeadlineWrite {
  const previous = before.deadline?.version ?? null;
  if (after.deadline === null) return previous === null ? { kind: 'keep' } : { kind: 'clear', previous };
  if (previous === after.deadline.version) return { kind: 'keep' };
  return { kind: 'set', ...after.deadline, previous };
}

/** Records are replaced, never mutated, by the machine: a new object is a changed association. */
function associationChanges(before: BatchContext, after: BatchContext) {
  const created: AssociationRecord[] = [];
  const changed: AssociationRecord[] = [];
  for (const [essayId, record] of Object.entries(after.associations)) {
    const previous = before.associations[essayId];
    if (previous === undefined) created.push(record);
    else if (previous !== record) changed.push(record);
  }
  return { created, changed };
}

function outboxRow(emitted: BatchEmitted, context: BatchContext, at: string, trace: TraceCarrier | undefined): OutboxMessage {
  return outboxEnvelope(emitted.type, emitted.data, context, at, trace);
}
