import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import type { Harness } from './harness.ts';
import { assertRealInbound } from './wire.ts';

export const uuid = () => randomUUID();

export function envelope(eventType: string, data: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    event_id: uuid(),
    event_type: eventType,
    event_timestamp: new Date().toISOString(),
    source_service: 'test-suite',
    correlation_id: uuid(),
    data,
    ...overrides,
  };
}

export interface ClassFixture {
  classId: string;
  courseCode: string;
  students: Array<{ student_id: string; email: string; first_name: string; last_name: string }>;
}

export async function createClassWithStudents(h: Harness, token: string, courseCode = 'ENG5', count = 3): Promise<ClassFixture> {
  const created = await h.api('POST', '/v1/classes', { token, body: { name: `Class ${courseCode}`, course_code: courseCode } });
  expect(created.status).toBe(201);
  const classId = created.body.class_id as string;
  const students = Array.from({ length: count }, (_, i) => ({
    first_name: `Student${i}`,
    last_name: `Lastname${i}`,
    email: `s${i}.${classId.slice(0, 8)}@school.example`,
  }));
  const added = await h.api('POST', `/v1/classes/${classId}/students`, { token, body: { students } });
  expect(added.status).toBe(201);
  return { classId, courseCode, students: added.body.students };
}

export async function registerBatch(h: Harness, token: string, body: Record<string, unknown>) {
  const res = await h.api('POST', '/v1/batches', { token, body });
  expect(res.status).toBe(201);
  return res.body.batch_id as string;
}

export function essays(n: number) {
  return Array.from({ length: n }, (_, i) => ({ essay_id: uuid(), text_storage_id: `storage-${i}` }));
}

export function provisioned(batchId: string, list: ReturnType<typeof essays>, courseCode = 'ENG5') {
  return real(TOPICS.contentProvisioned, {
    batch_id: batchId,
    provisioned_count: list.length,
    expected_count: list.length,
    course_code: courseCode,
    user_id: 'teacher-a',
    essays_for_processing: list,
  });
}

export function suggested(
  batchId: string,
  classId: string,
  matches: Array<{ essay: { essay_id: string; text_storage_id: string }; student_id?: string; score?: number }>,
  courseCode = 'ENG5',
) {
  return real(TOPICS.authorMatchesSuggested, {
    batch_id: batchId,
    class_id: classId,
    course_code: courseCode,
    match_results: matches.map((m) => ({
      essay_id: m.essay.essay_id,
      text_storage_id: m.essay.text_storage_id,
      filename: `${m.essay.essay_id}.docx`,
      suggestions:
        m.student_id === undefined
          ? []
          : [
              {
                student_id: m.student_id,
                student_name: 'Some Student',
                confidence_score: m.score ?? 0.95,
                match_reasons: ['name in header'],
              },
            ],
    })),
    processing_summary: { total_essays: matches.length },
  });
}

export function essaysReady(batchId: string, list: ReturnType<typeof essays>, classType: 'REGULAR' | 'GUEST', courseCode = 'ENG5') {
  return real(TOPICS.essaysReady, {
    batch_id: batchId,
    ready_essays: list,
    course_code: courseCode,
    course_language: courseCode.startsWith('ENG') ? 'en' : 'sv',
    class_type: classType,
    metadata: { entity_id: batchId, entity_type: 'batch', timestamp: new Date().toISOString() },
    student_prompt_ref: { references: { student_prompt_text: { storage_id: `prompt-${batchId.slice(0, 8)}` } } },
  });
}

/** BatchValidationErrorsV1 as the real essay lifecycle service sends it. */
export function validationErrorsData(batchId: string, essayIds: string[], critical: boolean) {
  const at = new Date().toISOString();
  return {
    batch_id: batchId,
    failed_essays: essayIds.map((essay_id) => ({
      essay_id,
      file_name: `${essay_id}.docx`,
      error_detail: {
        error_code: 'EMPTY_CONTENT',
        message: 'the file has no text',
        correlation_id: uuid(),
        timestamp: at,
        service: 'file_service',
        operation: 'validate_content',
      },
    })),
    error_summary: { total_errors: essayIds.length, error_categories: { EMPTY_CONTENT: essayIds.length }, critical_failure: critical },
    metadata: { entity_id: batchId, entity_type: 'batch', timestamp: at },
    correlation_id: uuid(),
  };
}

export function validationErrors(batchId: string, essayIds: string[], critical: boolean) {
  return real(TOPICS.validationErrors, validationErrorsData(batchId, essayIds, critical));
}

/** ClientBatchPipelineRequestV1 as the real API gateway publishes it. */
export function pipelineRequest(batchId: string, pipeline: string, userId = 'teacher-a') {
  return real(TOPICS.pipelineRequest, {
    batch_id: batchId,
    requested_pipeline: pipeline,
    client_correlation_id: uuid(),
    user_id: userId,
    is_retry: false,
    retry_reason: null,
    prompt_payload: {
      assignment_id: 'assignment-7',
      cms_prompt_ref: { references: { student_prompt_text: { storage_id: 'cms-prompt-1' } } },
    },
  });
}

/** An inbound event the tests post as a real producer would: checked against the real schema first. */
export function real(eventType: string, data: Record<string, unknown>) {
  return assertRealInbound(envelope(eventType, data, { metadata: { traceparent: TEST_TRACEPARENT } }));
}

/** A producer's trace context; the spans of applying the event continue its trace. */
export const TEST_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TEST_TRACEPARENT = `00-${TEST_TRACE_ID}-00f067aa0ba902b7-01`;

export async function postEvent(h: Harness, event: unknown) {
  return h.api('POST', '/v1/events', { body: event });
}

/** The batch as a batch machine v2 process left it: every record inside the snapshot, none in its association rows. */
export async function asWrittenByV2(h: Harness, batchId: string) {
  await h.database.db.execute(sql`
    UPDATE actor_snapshots s SET machine_version = 2,
      snapshot = jsonb_set(s.snapshot #- '{context,association_counts}', '{context,associations}',
        (SELECT jsonb_object_agg(a.essay_id::text, a.snapshot) FROM essay_student_associations a WHERE a.batch_id = ${batchId}))
    WHERE s.actor_id = ${`batch:${batchId}`}`);
  await h.database.db.execute(
    sql`UPDATE essay_student_associations SET snapshot = NULL, machine_version = NULL WHERE batch_id = ${batchId}`,
  );
}

/** Every table the application writes, counted: "nothing changed" made checkable. */
export async function rowCounts(h: Harness) {
  const tables = [
    'batches',
    'actor_snapshots',
    'essay_student_associations',
    'processed_events',
    'history',
    'outbox',
    'deadlines',
    'students',
    'classes',
  ];
  const counts = tables.map((t) => sql.raw(`(SELECT count(*) FROM ${t})::int AS ${t}`));
  const [row] = await rows<Record<string, number>>(
    h.database.db,
    sql`SELECT ${sql.join(counts, sql`, `)}, (SELECT coalesce(sum(version), 0) FROM actor_snapshots)::int AS snapshot_versions,
        (SELECT coalesce(string_agg(batch_id || ':' || state || ':' || version, ',' ORDER BY batch_id), '') FROM batches) AS projections`,
  );
  return row!;
}

/** A class of the teacher's with `students` students, and a batch of `count` essays registered for it. */
export async function registeredClassBatch(h: Harness, teacher: string, { courseCode = 'ENG5', students = 3, count = 1 } = {}) {
  const klass = await createClassWithStudents(h, teacher, courseCode, students);
  const batchId = await registerBatch(h, teacher, { course_code: courseCode, class_id: klass.classId, expected_essay_count: count });
  return { klass, batchId };
}

/**
 * A class of the teacher's with `students` students, and a batch of `count` essays for it whose
 * content is provisioned. The provisioning answer is returned, unchecked, for tests that check it.
 */
export async function provisionedClassBatch(h: Harness, teacher: string, { courseCode = 'ENG5', students = 3, count = 1 } = {}) {
  const { klass, batchId } = await registeredClassBatch(h, teacher, { courseCode, students, count });
  const list = essays(count);
  const provisioning = await postEvent(h, provisioned(batchId, list, courseCode));
  return { klass, batchId, list, provisioning };
}

export async function outboxEvents(h: Harness, topic?: string) {
  const res = await h.api('GET', '/v1/outbox?limit=1000');
  expect(res.status).toBe(200);
  const events = res.body.events as Array<{ topic: string; envelope: any; batch_id: string }>;
  return topic ? events.filter((e) => e.topic === topic) : events;
}

const CLASS_SERVICE = { source_service: 'class_management_service' };

/** ClassCreatedV1 as the real class service publishes it. */
export function classCreatedByClassService(classId: string, designation: string, courseCodes: string[], teacher: string) {
  return envelope(
    TOPICS.classCreated,
    { class_id: classId, class_designation: designation, course_codes: courseCodes, user_id: teacher, event: 'class.created' },
    CLASS_SERVICE,
  );
}

/** StudentCreatedV1 as the real class service publishes it: Åsa Öberg, ä and ö in her name and e-mail, in `classIds`. */
export function studentCreatedByClassService(studentId: string, classIds: string[], teacher: string) {
  return envelope(
    TOPICS.studentCreated,
    {
      student_id: studentId,
      first_name: 'Åsa',
      last_name: 'Öberg',
      student_email: 'åsa.öberg@test.edu',
      class_ids: classIds,
      created_by_user_id: teacher,
      event: 'student.created',
    },
    CLASS_SERVICE,
  );
}

/** The teacher's decisions on a batch's associations (POST …/student-associations/confirm); `student_id` names a correction. */
export function confirmAssociations(
  h: Pick<Harness, 'api'>,
  token: string,
  batchId: string,
  associations: Array<{ essay_id: string; confirmed: boolean; student_id?: string }>,
) {
  return h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, { token, body: { associations } });
}
