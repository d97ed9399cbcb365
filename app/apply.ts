import { type AnyMachineSnapshot, transition } from 'xstate';
import type { AssociationRecord } from '../machines/association.ts';
import {
  BATCH_MACHINE_VERSION,
  type BatchContext,
  type BatchEmitted,
  batchMachine,
} from '../machines/batch.ts';
import { batchStatusOf, eventsAcceptedIn, stateString } from '../machines/describe.ts';
import { type BatchEvent, WIRE_NAME } from '../machines/events.ts';
import type { Db } from '../db/client.ts';
import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import {
  type DeadlineWrite,
  type HistoryRow,
  type LoadedActor,
  type OutboxRow,
  type StudentRow,
  loadBatchActor,
  priorResponse,
  recordRefusal,
  writeTransition,
} from '../db/transitions.ts';
import { outboxEnvelope } from './envelope.ts';
import { restoreBatchSnapshot } from './snapshots.ts';
import type { TraceCarrier } from './tracing.ts';

export { SOURCE_SERVICE } from './envelope.ts';

/** What a caller asks the application layer to apply to one batch. */
export interface EventRequest {
  batchId: string;
  /** Idempotency key: an inbound event id, a job id, or a namespaced Idempotency-Key. */
  eventId: string;
  /**
   * What was asked, hashed (app/idempotency.ts): the same event id with another fingerprint is a
   * reused key, refused instead of answered with the first request's result. Timers have none.
   */
  fingerprint?: string;
  /** Who caused it, for the history: `service`, a teacher id, or `timeout`. */
  actor: string;
  correlationId: string | null;
  /** Teacher calls: the batch must be theirs, or it does not exist for them. */
  ownerId?: string;
  /** Builds the machine event from the current context; may read, must not write. */
  build(context: BatchContext, db: Db, at: string): Promise<Prepared> | Prepared;
  /** The W3C trace context the cause carried (inbound metadata or the HTTP traceparent header). */
  trace?: TraceCarrier;
  /** Extra facts for the audit row, e.g. which scheduler fired a deadline. */
  auditDetail?: Record<string, unknown>;
  /** Extra answer fields, e.g. per-item results, from the states before and after. */
  respond?(before: BatchContext, after: BatchContext): Record<string, unknown>;
}

export type Prepared =
  | { ok: true; event: BatchEvent; newStudents?: StudentRow[] }
  | { ok: false; errors: Array<{ path: string; message: string }> }
  /** A timer fired before its deadline (an operator promoted the job, a clock ran ahead). */
  | { ok: false; notDueUntil: string };

export interface AppliedBody {
  event_id: string;
  batch_id: string;
  state: string;
  status: string;
  version: number;
  duplicate: boolean;
  [extra: string]: unknown;
}

export type ApplyOutcome =
  | { kind: 'applied'; body: AppliedBody; deadline: DeadlineWrite; event_type: string; from_state: string }
  | { kind: 'duplicate'; body: AppliedBody }
  | { kind: 'key_reused'; event_id: string }
  | { kind: 'not_due'; due_at: string }
  | { kind: 'not_found' }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> }
  | { kind: 'conflict'; detail: string }
  | {
      kind: 'refused';
      state: string;
      status: string;
      event: string;
      allowed_events: string[];
      version: number;
      late: boolean;
      extra: Record<string, unknown>;
    };

export interface ApplyOptions {
  now: () => Date;
  /** The trace context to put into the metadata of every event this transition emits. */
  trace?: TraceCarrier;
}

const MAX_ATTEMPTS = 8;

/**
 * Applies one event to one batch actor: idempotency check, version check, pure transition, and the
 * snapshot, projections, history, outbox and deadline written in one statement. The first attempt is
 * optimistic (read, then write guarded by the row version); after a lost race the next attempts
 * lock the row, so hot batches serialise instead of spinning.
 */
export async function applyEvent(db: Db, request: EventRequest, options: ApplyOptions): Promise<ApplyOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const outcome =
      attempt === 0
        ? await attemptOnce(db, request, options, false)
        : await db.transaction((tx) => attemptOnce(tx as unknown as Db, request, options, true));
    if (outcome !== 'retry') return outcome;
  }
  throw new Error(`batch ${request.batchId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
}

async function attemptOnce(db: Db, request: EventRequest, options: ApplyOptions, lock: boolean): Promise<ApplyOutcome | 'retry'> {
  const loaded = await loadBatchActor(db, request.batchId, request.eventId, lock);
  if (!loaded || (request.ownerId !== undefined && loaded.owner_id !== request.ownerId)) return { kind: 'not_found' };
  if (loaded.prior_response) return duplicateOf(request, loaded.prior_response, loaded.prior_fingerprint);

  const before = restoreBatchSnapshot(loaded);
  const at = options.now().toISOString();
  const prepared = await request.build(before.context, db, at);
  if (!prepared.ok) return 'notDueUntil' in prepared ? { kind: 'not_due', due_at: prepared.notDueUntil } : { kind: 'invalid', errors: prepared.errors };
  const event = prepared.event;
  const [after, actions] = transition(batchMachine, before, event);
  const fromState = stateString(before.value);

  if (after === before) return refuse(db, request, loaded, before, event, at);

  const toState = stateString(after.value);
  const version = loaded.version + 1;
  const body: AppliedBody = {
    event_id: request.eventId,
    batch_id: request.batchId,
    state: toState,
    status: batchStatusOf(after.value),
    version,
    duplicate: false,
    ...request.respond?.(before.context, after.context),
  };
  const deadline = deadlineChange(before.context, after.context);
  const associations = associationChanges(before.context, after.context);
  const usedStudents = new Set(Object.values(after.context.associations).map((a) => a.student_id));
  // Named emit actions surface as `xstate.emit` with the event in their params.
  const emitted = (actions as Array<{ type: string; params?: unknown }>).flatMap((a) =>
    a.type === 'xstate.emit' ? [(a.params as { event: BatchEmitted }).event] : [],
  );

  try {
    const written = await writeTransition(db, {
      batchId: request.batchId,
      expectedVersion: loaded.version,
      machineVersion: BATCH_MACHINE_VERSION,
      snapshot: batchMachine.getPersistedSnapshot(after),
      status: body.status,
      state: toState,
      dueAt: after.context.deadline?.due_at ?? null,
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
      outbox: emitted.map((e) => outboxRow(e, after.context, at, options.trace)),
      deadline,
      newAssociations: associations.created,
      changedAssociations: associations.changed,
      newStudents: (prepared.newStudents ?? []).filter((s) => usedStudents.has(s.id)),
    });
    if (!written) return 'retry';
  } catch (error) {
    const pg = pgErrorOf(error);
    if (pg?.code === UNIQUE_VIOLATION && pg.constraint === 'processed_events_pkey') {
      const prior = await priorResponse(db, request.eventId);
      return duplicateOf(request, prior.response, prior.fingerprint);
    }
    if (pg?.code === UNIQUE_VIOLATION && pg.constraint === 'essay_student_associations_essay_id_key') {
      return { kind: 'conflict', detail: 'An essay of this event is already associated with a student in another batch.' };
    }
    // Another writer created the class's UNKNOWN student first: read it again and retry.
    if (
      pg?.code === UNIQUE_VIOLATION &&
      (pg.constraint === 'students_one_unknown_per_class_uq' || pg.constraint === 'students_class_email_uq') &&
      (prepared.newStudents ?? []).length > 0
    ) {
      return 'retry';
    }
    if (pg?.code === FOREIGN_KEY_VIOLATION && !lock) return 'retry';
    throw error;
  }
  return { kind: 'applied', body, deadline, event_type: WIRE_NAME[event.type], from_state: fromState };
}

async function refuse(
  db: Db,
  request: EventRequest,
  loaded: LoadedActor,
  before: AnyMachineSnapshot & { context: BatchContext },
  event: BatchEvent,
  at: string,
): Promise<ApplyOutcome | 'retry'> {
  const state = stateString(before.value);
  const late = event.type === 'VALIDATION_TIMEOUT';
  const allowed = eventsAcceptedIn(before).map((t) => WIRE_NAME[t as BatchEvent['type']] ?? t);
  const history = auditRow(request, event, before.context, at, {
    from_state: state,
    to_state: null,
    outcome: late ? 'late' : 'refused',
    reason: late
      ? before.context.deadline === null
        ? 'validation already completed; nothing left to time out'
        : `stale deadline version ${event.deadline_version} (current ${before.context.deadline.version})`
      : allowed.includes(WIRE_NAME[event.type])
        ? `state ${state} accepts ${WIRE_NAME[event.type]}, but its conditions do not hold for this one`
        : `state ${state} does not accept ${WIRE_NAME[event.type]}`,
    detail: undefined,
  });
  if (!(await recordRefusal(db, request.batchId, loaded.version, history))) return 'retry';
  return {
    kind: 'refused',
    state,
    status: batchStatusOf(before.value),
    event: WIRE_NAME[event.type],
    allowed_events: allowed,
    version: loaded.version,
    late,
    extra: request.respond?.(before.context, before.context) ?? {},
  };
}

/** The history row of one applied or refused event: who, what, when, and the caller's audit facts. */
function auditRow(
  request: EventRequest,
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
  };
}

/** What the audit log keeps beyond the states: deadline moves and how late a deadline fired. */
function historyDetail(event: BatchEvent, before: BatchContext, after: BatchContext): unknown {
  if (event.type === 'VALIDATION_TIMEOUT' && before.deadline) {
    return {
      deadline_version: before.deadline.version,
      due_at: before.deadline.due_at,
      lateness_ms: Date.parse(event.at) - Date.parse(before.deadline.due_at),
    };
  }
  if (event.type === 'DEADLINE_CHANGED' && after.deadline) {
    return { from_due_at: before.deadline?.due_at ?? null, to_due_at: after.deadline.due_at, deadline_version: after.deadline.version };
  }
  if (event.type === 'VALIDATION_ERRORS') {
    return { critical_failure: event.critical, total_errors: event.total_errors, failed_essay_ids: event.failed_essay_ids };
  }
  if (event.type === 'PIPELINE_REQUESTED') return { requested_pipeline: event.pipeline };
  if (event.type === 'ESSAYS_READY' && before.class_type === 'GUEST') {
    return { note: 'BatchEssaysReady for a GUEST batch: accepted, changes nothing' };
  }
  return undefined;
}

function withAudit(detail: unknown, audit: Record<string, unknown> | undefined): unknown {
  if (audit === undefined) return detail;
  return { ...(detail as Record<string, unknown> | undefined), ...audit };
}

/** The first answer again, unless the event id (or Idempotency-Key) now names another request. */
function duplicateOf(request: EventRequest, response: unknown, priorFingerprint: string | null): ApplyOutcome {
  const reused =
    (request.fingerprint !== undefined && priorFingerprint !== null && request.fingerprint !== priorFingerprint) ||
    (response as AppliedBody).batch_id !== request.batchId;
  if (reused) return { kind: 'key_reused', event_id: request.eventId };
  return { kind: 'duplicate', body: { ...(response as AppliedBody), duplicate: true } };
}

function deadlineChange(before: BatchContext, after: BatchContext): DeadlineWrite {
  const previous = before.deadline?.version ?? null;
  if (after.deadline === null) return previous === null ? { kind: 'keep' } : { kind: 'clear', previous };
  if (previous === after.deadline.version) return { kind: 'keep' };
  return { kind: 'set', ...after.deadline, previous };
}

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

function outboxRow(emitted: BatchEmitted, context: BatchContext, at: string, trace: TraceCarrier | undefined): OutboxRow {
  return outboxEnvelope(emitted.type, emitted.data, context, at, trace);
}
