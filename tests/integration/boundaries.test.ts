import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { validationTimeout } from '../../app/commands.ts';
import { TOPICS } from '../../machines/events.ts';
import { createClassWithStudents, envelope, essays, essaysReady, outboxEvents } from '../support/flow.ts';
import { postEvent, registerBatch, rowCounts, suggested, registeredClassBatch } from '../support/flow.ts';
import { teacherSuite } from '../support/suite.ts';

/**
 * Boundary data that every other test steps over: partial provisioning, and the confidences on
 * either side of the 0.7 timeout rule and the 0.9 high mark, in the machine and in the deadline
 * preview's SQL copy of the rule. Through the HTTP API on PostgreSQL, no Redis.
 */
describe('boundaries: partial provisioning and the 0.7 / 0.9 confidence marks', () => {
  const { h, fx } = teacherSuite({ label: 'boundaries', validationTimeoutMs: 3_600_000 }, 'teacher-bounds');

  it("refuses a class batch whose course is not the class's, and creates nothing", async () => {
    const klass = await createClassWithStudents(h, fx.teacher, 'SV2', 1);
    const before = await rowCounts(h);
    const wrong = await h.api('POST', '/v1/batches', {
      token: fx.teacher,
      body: { course_code: 'SV3', class_id: klass.classId, expected_essay_count: 1 },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(await rowCounts(h)).toEqual(before);
    const right = await h.api('POST', '/v1/batches', {
      token: fx.teacher,
      body: { course_code: 'SV2', class_id: klass.classId, expected_essay_count: 1 },
    });
    expect(right.status).toBe(201);
    expect(right.body).toMatchObject({ course_code: 'SV2', language: 'sv' });
  });

  it('goes on with the essays it has when fewer are provisioned than expected', async () => {
    const { klass, batchId } = await registeredClassBatch(h, fx.teacher, { courseCode: 'SV1', students: 2, count: 3 });
    const list = essays(2);
    const provisioned = envelope(TOPICS.contentProvisioned, {
      batch_id: batchId,
      provisioned_count: 2,
      expected_count: 3,
      course_code: 'SV1',
      user_id: 'teacher-bounds',
      essays_for_processing: list,
    });
    const prov = await postEvent(h, provisioned);
    expect(prov.status).toBe(200);
    expect(prov.body.status).toBe('awaiting_student_validation');
    const commands = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
    expect(commands.map((c) => c.envelope.data.essays_to_process)).toEqual([list]);

    const [s0, s1] = klass.students;
    const matches = [
      { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
      { essay: list[1]!, student_id: s1!.student_id, score: 0.5 },
    ];
    expect((await postEvent(h, suggested(batchId, klass.classId, matches, 'SV1'))).status).toBe(200);
    const decided = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: fx.teacher,
      body: { associations: list.map((e) => ({ essay_id: e.essay_id, confirmed: true })) },
    });
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('student_validation_completed');
    const ready = await postEvent(h, essaysReady(batchId, list, 'REGULAR', 'SV1'));
    expect(ready.body.status).toBe('ready_for_pipeline_execution');
  });

  it('keeps suggestions of 0.7 and above at the deadline and links 0.69 to UNKNOWN, in the preview and when it fires', async () => {
    const klass = await createClassWithStudents(h, fx.teacher, 'ENG7', 4);
    const scores = [0.7, 0.69, 0.9, 0.91, undefined] as const;
    const batchId = await registerBatch(h, fx.teacher, {
      course_code: 'ENG7',
      class_id: klass.classId,
      expected_essay_count: scores.length,
    });
    const list = essays(scores.length);
    const prov = envelope(TOPICS.contentProvisioned, {
      batch_id: batchId,
      provisioned_count: list.length,
      expected_count: list.length,
      course_code: 'ENG7',
      user_id: 'teacher-bounds',
      essays_for_processing: list,
    });
    expect((await postEvent(h, prov)).status).toBe(200);
    const matches = scores.map((score, i) => ({
      essay: list[i]!,
      ...(score === undefined ? {} : { student_id: klass.students[i % 4]!.student_id, score }),
    }));
    expect((await postEvent(h, suggested(batchId, klass.classId, matches, 'ENG7'))).status).toBe(200);

    const levels = (await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: fx.teacher })).body.associations as any[];
    const levelOf = (i: number) => levels.find((a) => a.essay_id === list[i]!.essay_id).confidence_level;
    expect(scores.map((_, i) => levelOf(i))).toEqual(['medium', 'low', 'medium', 'high', 'no_match']);

    const preview = await h.api('GET', '/v1/deadlines', { token: fx.teacher });
    expect(preview.status).toBe(200);
    expect(preview.body.deadlines.find((d: any) => d.batch_id === batchId)).toMatchObject({
      pending_associations: 5,
      will_keep_suggestion: 3,
      will_link_unknown_student: 2,
    });

    // The deadline guard applies a timeout only once it is due: the clock moves on, in SQL.
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
    const fired = await h.service.apply(validationTimeout(batchId, 1, 'sweep'));
    expect(fired.kind).toBe('applied');
    const settled = (await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: fx.teacher })).body.associations as any[];
    const statusOf = (i: number) => settled.find((a) => a.essay_id === list[i]!.essay_id);
    expect(scores.map((_, i) => statusOf(i).validation_status)).toEqual([
      'timeout_confirmed',
      'no_match',
      'timeout_confirmed',
      'timeout_confirmed',
      'no_match',
    ]);
    expect(statusOf(0).student_id).toBe(klass.students[0]!.student_id);
    expect(statusOf(1).student).toMatchObject({ name: 'UNKNOWN STUDENT', email: `unknown.${klass.classId}@huleedu.system` });
  });
});
