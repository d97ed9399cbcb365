import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { ApplyOutcome } from '../../app/apply.ts';
import { validationTimeout } from '../../app/commands.ts';
import { rows } from '../../db/client.ts';
import { createSweep } from '../../jobs/sweep.ts';
import type { BatchContext } from '../../machines/batch.ts';
import { type BatchEvent, TOPICS } from '../../machines/events.ts';
import { type ClassFixture, envelope, validationErrorsData } from '../support/flow.ts';
import { assertRealInbound } from '../support/wire.ts';
import type { Harness } from '../support/harness.ts';
import { type ClassType, MODEL, type ModelCourse } from '../../model/fixture.ts';

/**
 * Replays batch machine events against the real system: service events as envelopes on
 * POST /v1/events, teacher events on the teacher routes, and the deadline through the real
 * mechanism (due_at moved into the past in SQL, then one sweep).
 */

export interface Answer {
  status: number;
  body: any;
}

/** What the API shows of one association, with ids translated back to the model's. */
export interface AssociationView {
  validation_status: string;
  validation_method: string | null;
  validated_by: string | null;
  student_id: string | null;
}

export interface Observed {
  state: string;
  version: number;
  associations: Record<string, AssociationView>;
}

/** One replayed batch: its real ids and the map between them and the model's. */
export interface BoundBatch {
  batchId: string;
  classType: ClassType;
  course: ModelCourse;
  toReal: Map<string, string>;
  toModel: Map<string, string>;
}

export function expectedAssociations(context: BatchContext): Record<string, AssociationView> {
  return Object.fromEntries(
    Object.values(context.associations).map((a) => [
      a.essay_id,
      {
        validation_status: a.validation_status,
        validation_method: a.validation_method,
        validated_by: a.validated_by,
        student_id: a.student_id,
      },
    ]),
  );
}

/**
 * The HTTP status of a request the machine would refuse. Two are rejected by the adapter's
 * validation before the machine sees them: a deadline in the past, and suggestions naming
 * another class than a REGULAR batch's.
 */
export function refusalStatus(event: BatchEvent, classType: ClassType): 400 | 409 {
  if (event.type === 'DEADLINE_CHANGED' && Date.parse(event.due_at) <= Date.parse(event.at)) return 400;
  if (event.type === 'AUTHOR_MATCHES_SUGGESTED' && classType === 'REGULAR' && event.class_id !== MODEL.classId) return 400;
  return 409;
}

function answerOf(outcome: ApplyOutcome): Answer {
  switch (outcome.kind) {
    case 'applied':
    case 'duplicate':
      return { status: 200, body: outcome.body };
    case 'refused':
      return {
        status: 409,
        body: { state: outcome.state, allowed_events: outcome.allowed_events, version: outcome.version, late: outcome.late },
      };
    default:
      return { status: 500, body: outcome };
  }
}

/**
 * `teacher` is a token for MODEL.ownerId, so `validated_by` reads the same in the model and the API.
 * `classes` has a class per course the paths use (a REGULAR batch's class has the batch's course).
 */
export function createBatchDriver(h: Harness, teacher: string, classes: Partial<Record<ModelCourse, ClassFixture>>) {
  const fired = new Map<string, string>();
  const sweep = createSweep(h.service, { intervalMs: 3_600_000, onFired: (batchId, kind) => fired.set(batchId, kind) });
  const outsideStudent = randomUUID();
  const otherClass = randomUUID();

  async function register(classType: ClassType, course: ModelCourse = 'ENG5', expected = 2): Promise<BoundBatch> {
    const klass = classes[course];
    if (!klass) throw new Error(`the driver has no ${course} class`);
    const body = { course_code: course, expected_essay_count: expected, ...(classType === 'REGULAR' ? { class_id: klass.classId } : {}) };
    const res = await h.api('POST', '/v1/batches', { token: teacher, body });
    expect(res.status).toBe(201);
    const batchId = res.body.batch_id as string;
    const toReal = new Map<string, string>([
      [MODEL.batchId, batchId],
      [MODEL.essayA, randomUUID()],
      [MODEL.essayB, randomUUID()],
      [MODEL.classId, klass.classId],
      [MODEL.otherClassId, otherClass],
      [MODEL.student0, klass.students[0]!.student_id],
      [MODEL.student1, klass.students[1]!.student_id],
      [MODEL.outsideStudent, outsideStudent],
    ]);
    return { batchId, classType, course, toReal, toModel: new Map([...toReal].map(([m, r]) => [r, m])) };
  }

  function bind<T>(value: T, ids: BoundBatch): T {
    return JSON.parse(JSON.stringify(value), (_key, v) => (typeof v === 'string' ? (ids.toReal.get(v) ?? v) : v));
  }

  // Every event the model sends is one a real producer could have sent.
  const serviceEvent = (type: string, data: Record<string, unknown>) =>
    h.api('POST', '/v1/events', { body: assertRealInbound(envelope(type, data)) });
  const teacherCommand = (batchId: string, route: string, body: unknown, method = 'POST') =>
    h.api(method, `/v1/batches/${batchId}/${route}`, { token: teacher, body });

  /** The real deadline mechanism when the batch has this deadline; else what a stale timer job does. */
  async function fireDeadline(batchId: string, version: number): Promise<Answer> {
    const [row] = await rows<{ version: number }>(h.database.db, sql`SELECT version FROM deadlines WHERE batch_id = ${batchId}`);
    if (row?.version === version) {
      await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
      fired.delete(batchId);
      await sweep.runOnce();
      const kind = fired.get(batchId);
      return { status: kind === 'applied' ? 200 : 409, body: { fired_by: 'sweep', outcome: kind ?? 'not fired' } };
    }
    // A fresh event id: the timer's own id for a version the sweep already applied would come back
    // as a duplicate of that answer, and the point here is the machine's refusal.
    const job = { ...validationTimeout(batchId, version, 'bullmq'), eventId: `model-${randomUUID()}` };
    return answerOf(await h.service.apply(job));
  }

  type Sender<T extends BatchEvent['type']> = (event: Extract<BatchEvent, { type: T }>, ids: BoundBatch) => Promise<Answer>;

  /** How each event reaches the real service: its producer's topic, or the teacher's route (a new event type must say). */
  const SENDERS: { [T in BatchEvent['type']]: Sender<T> } = {
    CONTENT_PROVISIONED: (event, ids) =>
      serviceEvent(TOPICS.contentProvisioned, {
        batch_id: ids.batchId,
        provisioned_count: event.provisioned_count,
        expected_count: event.expected_count,
        course_code: ids.course,
        user_id: MODEL.ownerId,
        essays_for_processing: event.essays,
      }),
    AUTHOR_MATCHES_SUGGESTED: (event, ids) =>
      serviceEvent(TOPICS.authorMatchesSuggested, {
        batch_id: ids.batchId,
        class_id: event.class_id,
        course_code: ids.course,
        match_results: event.matches.map((m) => ({
          essay_id: m.essay_id,
          text_storage_id: m.text_storage_id,
          filename: m.filename,
          suggestions: m.suggestions,
        })),
        processing_summary: { total_essays: event.matches.length },
      }),
    ESSAYS_READY: (event, ids) =>
      serviceEvent(TOPICS.essaysReady, {
        batch_id: ids.batchId,
        ready_essays: event.ready_essays,
        course_code: ids.course,
        course_language: ids.course.startsWith('ENG') ? 'en' : 'sv',
        class_type: event.class_type,
        metadata: { entity_id: ids.batchId, entity_type: 'batch' },
      }),
    VALIDATION_ERRORS: (event, ids) =>
      serviceEvent(TOPICS.validationErrors, validationErrorsData(ids.batchId, event.failed_essay_ids, event.critical)),
    TEACHER_DECISIONS: (event, ids) =>
      teacherCommand(ids.batchId, 'student-associations/confirm', {
        associations: event.decisions.map(({ student_in_class: _derived, ...decision }) => decision),
      }),
    TEACHER_REOPENED: (event, ids) =>
      teacherCommand(ids.batchId, 'student-associations/reopen', {
        essay_ids: event.essay_ids,
        ...(event.reason === null ? {} : { reason: event.reason }),
      }),
    TEACHER_CORRECTED: (event, ids) =>
      teacherCommand(ids.batchId, 'student-associations/correct', {
        corrections: event.corrections.map((c) => ({
          essay_id: c.essay_id,
          student_id: c.student_id,
          ...(c.reason === null ? {} : { reason: c.reason }),
        })),
      }),
    PIPELINE_REQUESTED: (event, ids) =>
      teacherCommand(ids.batchId, 'pipelines', {
        requested_pipeline: event.pipeline,
        is_retry: event.is_retry,
        prompt_payload: event.prompt_payload,
      }),
    PHASE_OUTCOME: (event, ids) =>
      serviceEvent(TOPICS.phaseOutcome, {
        batch_id: ids.batchId,
        phase_name: event.phase,
        phase_status: event.outcome,
        processed_essays: [],
        failed_essay_ids: event.failed_essay_ids,
      }),
    PROMPT_AMENDED: (event, ids) => teacherCommand(ids.batchId, 'prompt', { student_prompt_ref: event.student_prompt_ref }, 'PATCH'),
    CANCEL: (event, ids) => teacherCommand(ids.batchId, 'cancel', event.reason === null ? {} : { reason: event.reason }),
    DEADLINE_CHANGED: (event, ids) => {
      const by = Date.parse(event.due_at) - Date.parse(event.at);
      return teacherCommand(ids.batchId, 'deadline', by > 0 ? { extend_by_ms: by } : { due_at: event.due_at });
    },
    VALIDATION_TIMEOUT: (event, ids) => fireDeadline(ids.batchId, event.deadline_version),
    // The model's end is hours after its clock; the API's must be ahead of the real one by as much.
    VALIDATION_PAUSED: (event, ids) =>
      teacherCommand(ids.batchId, 'deadline/pause', {
        ...(event.until === null ? {} : { until: new Date(Date.now() + Date.parse(event.until) - Date.parse(event.at)).toISOString() }),
        ...(event.reason === null ? {} : { reason: event.reason }),
      }),
    // A teacher's resume, or the pause's end firing through the real deadline mechanism.
    VALIDATION_RESUMED: (event, ids) =>
      event.deadline_version === null
        ? teacherCommand(ids.batchId, 'deadline/resume', {})
        : fireDeadline(ids.batchId, event.deadline_version),
  };

  function send<E extends BatchEvent>(modelEvent: E, ids: BoundBatch): Promise<Answer> {
    const event = bind(modelEvent, ids);
    return (SENDERS[event.type as E['type']] as Sender<E['type']>)(event as never, ids);
  }

  async function observeBatch(ids: BoundBatch): Promise<{ state: string; version: number }> {
    const batch = await h.api('GET', `/v1/batches/${ids.batchId}`, { token: teacher });
    expect(batch.status).toBe(200);
    return { state: batch.body.state, version: batch.body.version };
  }

  async function observe(ids: BoundBatch): Promise<Observed> {
    const batch = await observeBatch(ids);
    const listed = await h.api('GET', `/v1/batches/${ids.batchId}/student-associations`, { token: teacher });
    expect(listed.status).toBe(200);
    const associations: Record<string, AssociationView> = {};
    for (const a of listed.body.associations as any[]) {
      const unknown = typeof a.student?.email === 'string' && a.student.email.startsWith('unknown.');
      associations[ids.toModel.get(a.essay_id) ?? a.essay_id] = {
        validation_status: a.validation_status,
        validation_method: a.validation_method,
        validated_by: a.validated_by,
        student_id: a.student_id === null ? null : unknown ? MODEL.unknownStudent : (ids.toModel.get(a.student_id) ?? a.student_id),
      };
    }
    return { ...batch, associations };
  }

  return { register, send, observe, observeBatch, close: () => sweep.stop() };
}
