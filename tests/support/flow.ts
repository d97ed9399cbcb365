import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import type { Harness } from './harness.ts';

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
  return envelope(TOPICS.contentProvisioned, {
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
  return envelope(TOPICS.authorMatchesSuggested, {
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
          : [{ student_id: m.student_id, student_name: 'Some Student', confidence_score: m.score ?? 0.95, match_reasons: ['name in header'] }],
    })),
    processing_summary: { total_essays: matches.length },
  });
}

export function essaysReady(batchId: string, list: ReturnType<typeof essays>, classType: 'REGULAR' | 'GUEST', courseCode = 'ENG5') {
  return envelope(TOPICS.essaysReady, {
    batch_id: batchId,
    ready_essays: list,
    course_code: courseCode,
    course_language: courseCode.startsWith('ENG') ? 'en' : 'sv',
    class_type: classType,
  });
}

export async function postEvent(h: Harness, event: unknown) {
  return h.api('POST', '/v1/events', { body: event });
}

/** Every table the application writes, counted: "nothing changed" made checkable. */
export async function rowCounts(h: Harness) {
  const tables = ['batches', 'actor_snapshots', 'essay_student_associations', 'processed_events', 'history', 'outbox', 'deadlines', 'students', 'classes'];
  const counts = tables.map((t) => sql.raw(`(SELECT count(*) FROM ${t})::int AS ${t}`));
  const [row] = await rows<Record<string, number>>(
    h.database.db,
    sql`SELECT ${sql.join(counts, sql`, `)}, (SELECT coalesce(sum(version), 0) FROM actor_snapshots)::int AS snapshot_versions,
        (SELECT coalesce(string_agg(batch_id || ':' || state || ':' || version, ',' ORDER BY batch_id), '') FROM batches) AS projections`,
  );
  return row!;
}

export async function outboxEvents(h: Harness, topic?: string) {
  const res = await h.api('GET', '/v1/outbox?limit=1000');
  expect(res.status).toBe(200);
  const events = res.body.events as Array<{ topic: string; envelope: any; batch_id: string }>;
  return topic ? events.filter((e) => e.topic === topic) : events;
}
