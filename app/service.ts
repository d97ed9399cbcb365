import { type Db, databaseAnswers } from '../db/client.ts';
import { outboxBacklog, relayOutbox } from '../db/outbox.ts';
import type { DeadlineWrite } from '../db/transition-types.ts';
import { type ApplyOutcome, type EventRequest, applyEvent } from './apply.ts';
import { type RegisterBatchInput, registerBatch } from './batches.ts';
import { type DueTimer, type FiredTimer, fireTimerBurst } from './burst.ts';
import { createTimerBatcher } from './timer-batcher.ts';
import {
  type NewStudent,
  type PersonName,
  addStudentsToClasses,
  createClass,
  getClass,
  getStudent,
  listStudents,
  updateClass,
  updateStudent,
} from './classes.ts';
import { applyClassEvent } from './class-events.ts';
import { batchStudentNames, essayStudent, matcherRoster } from './roster-reads.ts';
import { type KeyedCall, onceForKey } from './keyed.ts';
import { claimDueDeadlines, pendingDeadlines, teacherDeadlines, teacherPausedValidations } from './deadlines.ts';
import { pauseOrResumeClass } from './pauses.ts';
import { listClasses, operatorNumbers } from './review-reads.ts';
import { auditBatch } from './audit.ts';
import { batchHistory, getBatch, listAssociations, listBatches, outboxAfter } from './queries.ts';
import { inboundRequest } from './inbound.ts';
import { type CreditChecker, allowEveryPipeline } from './credits.ts';
import { createBatchStreams } from './stream.ts';
import type { ClassInboundEnvelope, InboundEnvelope, RequestedPipeline, SlotInboundEnvelope } from '../machines/events.ts';
import { applySlotAssigned } from './slot-events.ts';
import { upgradeBatchSnapshots } from './upgrade.ts';
import { pipelineStateOf, preflight } from './orchestrator.ts';
import { remindDueDeadlines } from './reminders.ts';
import { type RetentionReport, purgeExpiredBatches } from './retention.ts';
import type { CourseCode } from '../machines/domain.ts';
import type { Tracer } from '@opentelemetry/api';
import { type TraceCarrier, defaultTracer, withSpan } from './tracing.ts';
import type { DeadlineRule, SchoolCalendar } from '../machines/school-calendar.ts';
import { type DeadlinePolicy, elapsedPolicy } from './deadline-policy.ts';
import { type CalendarBody, changeClassCalendar, readClassCalendar } from './calendars.ts';

/** Told after commit about every deadline a transition set or cleared: the timer accelerator. */
export type DeadlineListener = (batchId: string, change: Exclude<DeadlineWrite, { kind: 'keep' }>) => void;

/** One call of `apply` as logs and metrics see it; states are null where no transition was tried. */
export interface ApplyObservation {
  request: EventRequest;
  outcome: ApplyOutcome;
  event_type: string | null;
  from_state: string | null;
  to_state: string | null;
  duration_ms: number;
}

/** Told after every `apply` returns; must not throw or block (logs, metrics). */
export type ApplyObserver = (observation: ApplyObservation) => void;

export interface ServiceDeps {
  db: Db;
  validationTimeoutMs: number;
  /** How the validation deadline is counted (school days, in which calendar); plain `validationTimeoutMs` when absent. */
  deadlines?: { rule: DeadlineRule; calendar: SchoolCalendar };
  /** The credit question asked before a pipeline starts; every pipeline is allowed when absent. */
  credits?: CreditChecker;
  /** How early a deadline may be applied (clocks drift); earlier firings change nothing. */
  deadlineClockSkewMs?: number;
  now?: () => Date;
  onDeadlineChange?: DeadlineListener;
  onOutcome?: ApplyObserver;
  /** Spans of applied events; the global (no-op unless an SDK is registered) tracer by default. */
  tracer?: Tracer;
  /** RETENTION_DAYS: finished batches unchanged this long lose their personal data; absent, retention is off. */
  retentionDays?: number;
  /** Told after every retention pass that purged something (not dry runs): the log line of what was purged. */
  onRetentionPurged?: (report: RetentionReport) => void;
}

function transitionOf(outcome: ApplyOutcome) {
  if (outcome.kind === 'applied') return { event_type: outcome.event_type, from_state: outcome.from_state, to_state: outcome.body.state };
  if (outcome.kind === 'refused') return { event_type: outcome.event, from_state: outcome.state, to_state: null };
  return { event_type: null, from_state: null, to_state: null };
}

/** What an adapter knows about an inbound envelope beyond the envelope itself. */
export interface InboundCall {
  /** The request's hash (app/idempotency.ts), so a reused event id with another body is refused. */
  fingerprint?: string;
  /** The transport's trace context (the HTTP traceparent header), used when the envelope's metadata has none. */
  fallbackTrace?: TraceCarrier;
}

/**
 * The application layer's face: verbs adapters (HTTP, jobs, CLI) may call, and nothing to reach
 * past them (no database handle, no clock, no configuration to ferry back in).
 */
export function createService(deps: ServiceDeps) {
  const now = deps.now ?? (() => new Date());
  const deadlinePolicy: DeadlinePolicy = deps.deadlines
    ? { ...deps.deadlines, validationTimeoutMs: deps.validationTimeoutMs }
    : elapsedPolicy(deps.validationTimeoutMs);
  const { db } = deps;
  const tracer = deps.tracer ?? defaultTracer();
  const deadlineClockSkewMs = deps.deadlineClockSkewMs ?? 5_000;
  const credits = deps.credits ?? allowEveryPipeline;

  function observe(request: EventRequest, outcome: ApplyOutcome, started: number): void {
    if (outcome.kind === 'applied' && outcome.deadline.kind !== 'keep') {
      deps.onDeadlineChange?.(request.batchId, outcome.deadline);
    }
    deps.onOutcome?.({ request, outcome, ...transitionOf(outcome), duration_ms: performance.now() - started });
  }

  async function fireBurst(timers: DueTimer[], firedBy: 'bullmq' | 'sweep'): Promise<FiredTimer[]> {
    const started = performance.now();
    const fired = await withSpan(tracer, 'batch.deadline_burst', undefined, { 'huleedu.burst_size': String(timers.length) }, (trace) =>
      fireTimerBurst(db, timers, { now, trace, firedBy, clockSkewMs: deadlineClockSkewMs }),
    );
    for (const f of fired) if ('outcome' in f.result) observe(f.request, f.result.outcome, started);
    return fired;
  }
  const fireQueuedTimer = createTimerBatcher((timers) => fireBurst(timers, 'bullmq'), 64);

  async function apply(request: EventRequest): Promise<ApplyOutcome> {
    const started = performance.now();
    const outcome = await withSpan(
      tracer,
      'batch.apply',
      request.trace,
      { 'huleedu.batch_id': request.batchId, 'huleedu.actor': request.actor },
      async (trace, span) => {
        const result = await applyEvent(db, request, { now, trace });
        const seen = transitionOf(result);
        span.setAttributes({
          'huleedu.outcome': result.kind,
          ...(seen.event_type ? { 'huleedu.event_type': seen.event_type } : {}),
          ...(seen.from_state ? { 'huleedu.from_state': seen.from_state } : {}),
          ...(seen.to_state ? { 'huleedu.to_state': seen.to_state } : {}),
        });
        return result;
      },
    );
    observe(request, outcome, started);
    return outcome;
  }
  return {
    /** The credit question of pipeline starts, for the teacher route's request builder and the preflight. */
    credits,
    /** How early a deadline may be applied; the worker and the sweep build their timeouts with it. */
    deadlineClockSkewMs,
    apply,
    /** One validated inbound envelope, with the deadline length this service was configured with. */
    applyInbound(envelope: InboundEnvelope, call: InboundCall = {}): Promise<ApplyOutcome> {
      const request = {
        ...inboundRequest(envelope, { deadlines: deadlinePolicy, credits }),
        ...(call.fingerprint ? { fingerprint: call.fingerprint } : {}),
      };
      // The envelope's metadata carries the producer's trace; the transport's is the fallback.
      request.trace ??= call.fallbackTrace;
      return apply(request);
    },
    /** Live streams of committed batch changes, polled every `pollMs`. */
    openBatchStreams: (pollMs: number) => createBatchStreams({ db, pollMs }),
    /**
     * The sweep's verb: claims up to `limit` due deadlines for `leaseMs` and fires them in bursts
     * (app/burst.ts) of at most `burstSize`, `lanes` at a time. Reports each one's outcome or error.
     */
    async fireDueDeadlines(options: { limit: number; leaseMs: number; burstSize?: number; lanes?: number }): Promise<FiredTimer[]> {
      const claimed = await claimDueDeadlines(db, options.limit, options.leaseMs);
      const size = options.burstSize ?? 100;
      const bursts = Array.from({ length: Math.ceil(claimed.length / size) }, (_, i) => claimed.slice(i * size, (i + 1) * size));
      const fired: FiredTimer[] = [];
      let next = 0;
      const lanes = Array.from({ length: Math.min(options.lanes ?? 4, bursts.length) }, async () => {
        while (next < bursts.length) fired.push(...(await fireBurst(bursts[next++]!, 'sweep')));
      });
      await Promise.all(lanes);
      return fired;
    },
    /** A timer job's verb: fires one deadline, grouped with the others due at the same moment. */
    fireDeadline: (batchId: string, version: number): Promise<ApplyOutcome> => fireQueuedTimer({ batch_id: batchId, version }),
    registerBatch: (ownerId: string, input: RegisterBatchInput, correlationId: string, trace?: TraceCarrier) =>
      withSpan(tracer, 'batch.register', trace, { 'huleedu.actor': ownerId }, (outbound) =>
        registerBatch(db, ownerId, input, correlationId, now().toISOString(), outbound),
      ),
    /** A class of the teacher's, announced (the `class_created` notification) in the same transaction. */
    createClass: (ownerId: string, input: { name: string } & ({ course_code: CourseCode } | { course_codes: CourseCode[] })) =>
      createClass(
        db,
        ownerId,
        { name: input.name, course_codes: 'course_codes' in input ? input.course_codes : [input.course_code] },
        now().toISOString(),
      ),
    addStudents: (ownerId: string, classId: string, students: NewStudent[]) =>
      addStudentsToClasses(db, ownerId, [classId], students, now().toISOString()),
    /** The real CreateStudentRequest: one student, in any number of the teacher's classes. */
    createStudent: (
      ownerId: string,
      input: { person_name: PersonName; email?: string | null | undefined; class_ids?: string[] | null | undefined },
    ) => addStudentsToClasses(db, ownerId, input.class_ids ?? [], [{ ...input.person_name, email: input.email }], now().toISOString()),
    /** The same, at most once per Idempotency-Key: a retry answers the first result instead of making a second class. */
    createClassOnce: (
      call: KeyedCall | undefined,
      ownerId: string,
      input: { name: string } & ({ course_code: CourseCode } | { course_codes: CourseCode[] }),
    ) =>
      onceForKey(
        db,
        call,
        (tx) =>
          createClass(
            tx,
            ownerId,
            { name: input.name, course_codes: 'course_codes' in input ? input.course_codes : [input.course_code] },
            now().toISOString(),
          ),
        (made) => made.id,
      ),
    addStudentsOnce: (call: KeyedCall | undefined, ownerId: string, classId: string, students: NewStudent[]) =>
      onceForKey(
        db,
        call,
        (tx) => addStudentsToClasses(tx, ownerId, [classId], students, now().toISOString()),
        (added) => (added.kind === 'added' ? classId : null),
      ),
    listStudents: (ownerId: string, classId: string) => listStudents(db, ownerId, classId),
    getClass: (ownerId: string, classId: string) => getClass(db, ownerId, classId),
    updateClass: (ownerId: string, classId: string, change: Parameters<typeof updateClass>[3]) => updateClass(db, ownerId, classId, change),
    getStudent: (ownerId: string, studentId: string) => getStudent(db, ownerId, studentId),
    updateStudent: (ownerId: string, studentId: string, change: Parameters<typeof updateStudent>[3]) =>
      updateStudent(db, ownerId, studentId, change),
    /** One of the class service's events (class or student created or updated), applied to the roster. */
    applyClassEvent: (envelope: ClassInboundEnvelope, fingerprint: string) => applyClassEvent(db, envelope, fingerprint),
    /** EssaySlotAssignedV1: the original file name of an essay, for the teacher's review. */
    applySlotAssigned: (envelope: SlotInboundEnvelope, fingerprint: string) => applySlotAssigned(db, envelope, fingerprint),
    matcherRoster: (classId: string) => matcherRoster(db, classId),
    batchStudentNames: (batchId: string) => batchStudentNames(db, batchId),
    essayStudent: (essayId: string) => essayStudent(db, essayId),
    getBatch: (ownerId: string, batchId: string) => getBatch(db, ownerId, batchId),
    listBatches: (ownerId: string, status?: string) => listBatches(db, ownerId, status),
    listAssociations: (ownerId: string, batchId: string) => listAssociations(db, ownerId, batchId),
    history: (ownerId: string, batchId: string) => batchHistory(db, ownerId, batchId),
    outbox: (after: number, limit: number) => outboxAfter(db, after, limit),
    deadlines: (ownerId: string, before?: string) => teacherDeadlines(db, ownerId, before),
    /** A teacher's paused validations: the time each had left, and the pause's end. */
    pausedValidations: (ownerId: string) => teacherPausedValidations(db, ownerId),
    /** An operator pauses or resumes every pending validation of a class, one transition per batch. */
    pauseOrResumeClass: (classId: string, operator: string, change: Parameters<typeof pauseOrResumeClass>[4]) =>
      pauseOrResumeClass(db, apply, classId, operator, change, now),
    /** A class's school calendar (its own, or the service's) and the rule deadlines count by. */
    classCalendar: (ownerId: string, classId: string) => readClassCalendar(db, deadlinePolicy, ownerId, classId),
    /** Sets a class's calendar and moves the pending deadlines it governs, each in its batch's history. */
    changeClassCalendar: (ownerId: string, classId: string, body: CalendarBody) =>
      changeClassCalendar(db, apply, deadlinePolicy, now, ownerId, classId, body),
    listClasses: (ownerId: string) => listClasses(db, ownerId),
    operatorNumbers: (stuckAfterMs: number) => operatorNumbers(db, stuckAfterMs),
    /** The verifiable audit: the batch's history replayed and compared with what is stored (null: no such batch). */
    auditBatch: (batchId: string) => auditBatch(db, batchId),
    pipelineState: (batchId: string) => pipelineStateOf(db, batchId, now()),
    /** The sweep's second verb: reminds teachers of deadlines due within `leadMs`, once per deadline version. */
    remindDueDeadlines: (leadMs: number) => remindDueDeadlines(db, leadMs, now()),
    preflight: (batchId: string, pipeline: RequestedPipeline) => preflight(db, batchId, pipeline, credits),
    /** At start, before anything is served: rewrites older batch snapshots to the machines' current versions; answers how many. */
    upgradeSnapshots: () => upgradeBatchSnapshots(db, now().toISOString()),
    /** Up to `limit` pending deadlines, to put the timers back on the queue after a restart (Redis keeps nothing on disk). */
    pendingDeadlines: (limit: number) => pendingDeadlines(db, limit),
    /** RETENTION_DAYS, or null when retention is off. */
    retentionDays: deps.retentionDays ?? null,
    /**
     * One retention pass (app/retention.ts) with the configured period, or `retentionDays` (the
     * operator's); null when neither is set. A dry run changes nothing and answers the same report.
     */
    purgeExpired: (options: { dryRun?: boolean; limit?: number; retentionDays?: number } = {}): Promise<RetentionReport | null> => {
      const retentionDays = options.retentionDays ?? deps.retentionDays;
      if (retentionDays === undefined) return Promise.resolve(null);
      return purgeExpiredBatches(db, { retentionDays, now: now(), dryRun: options.dryRun ?? false, limit: options.limit ?? 100 }).then(
        (report) => {
          if (!report.dry_run && report.batches.length > 0) deps.onRetentionPurged?.(report);
          return report;
        },
      );
    },
    /** How many outbox rows wait to be published: the backlog gauge. */
    outboxBacklog: () => outboxBacklog(db),
    /** The relay's side of the outbox: the pending rows of a pass and marking them published. */
    outboxRelay: () => relayOutbox(db),
    /** Readiness: one round trip to the database, limited in time. */
    databaseAnswers: databaseAnswers(db),
  };
}

export type Service = ReturnType<typeof createService>;
