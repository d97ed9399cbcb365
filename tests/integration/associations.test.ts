import { describe, expect, it } from 'vitest';
import { createClassWithStudents, essays, postEvent, provisioned } from '../support/flow.ts';
import { provisionedClassBatch, registerBatch, rowCounts, suggested, uuid } from '../support/flow.ts';
import { teacherSuite } from '../support/suite.ts';

describe('student associations through the API', () => {
  const { h, fx } = teacherSuite({ label: 'associations' }, 'teacher-a');

  async function provisionedBatch(count: number) {
    const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, fx.teacher, { count });
    expect(provisioning.status).toBe(200);
    return { klass, batchId, list };
  }

  const confirm = (batchId: string, associations: unknown[]) =>
    h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, { token: fx.teacher, body: { associations } });

  it('refuses suggestions that name a student outside the class, changing nothing', async () => {
    const { klass, batchId, list } = await provisionedBatch(1);
    const stranger = (await createClassWithStudents(h, fx.teacher, 'ENG5', 1)).students[0]!.student_id;
    const before = await rowCounts(h);
    const res = await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: stranger }]));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'data.match_results.0.suggestions.0.student_id', message: `not a student of class ${klass.classId}` },
    ]);
    expect(await rowCounts(h)).toEqual(before);
  });

  it('refuses suggestions for another class or for essays not in the batch', async () => {
    const { klass, batchId, list } = await provisionedBatch(1);
    const other = await createClassWithStudents(h, fx.teacher, 'ENG5', 1);
    const wrongClass = await postEvent(
      h,
      suggested(batchId, other.classId, [{ essay: list[0]!, student_id: other.students[0]!.student_id }]),
    );
    expect(wrongClass.status).toBe(400);
    expect(wrongClass.body.errors.map((e: any) => e.path)).toContain('data.class_id');
    const foreignEssay = await postEvent(h, suggested(batchId, klass.classId, [{ essay: essays(1)[0]! }]));
    expect(foreignEssay.status).toBe(400);
    expect(foreignEssay.body.errors[0].path).toBe('data.match_results.0.essay_id');
  });

  it('keeps only the most confident suggestion per essay and creates an association for unmatched essays', async () => {
    const { klass, batchId, list } = await provisionedBatch(2);
    const event = suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.6 }]);
    (event.data as any).match_results[0].suggestions.push({
      student_id: klass.students[1]!.student_id,
      student_name: 'Better Match',
      confidence_score: 0.91,
      match_reasons: ['header'],
    });
    expect((await postEvent(h, event)).status).toBe(200);
    const rows = (await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: fx.teacher })).body.associations as any[];
    const byEssay = new Map(rows.map((a) => [a.essay_id, a]));
    expect(byEssay.get(list[0]!.essay_id)).toMatchObject({
      student_id: klass.students[1]!.student_id,
      confidence_score: 0.91,
      confidence_level: 'high',
    });
    expect(byEssay.get(list[1]!.essay_id)).toMatchObject({
      student_id: null,
      confidence_score: null,
      confidence_level: 'no_match',
      validation_status: 'pending_validation',
    });
  });

  it('answers per item: corrections, rejections, students outside the class and decided associations', async () => {
    const { klass, batchId, list } = await provisionedBatch(3);
    const stranger = (await createClassWithStudents(h, fx.teacher, 'ENG5', 1)).students[0]!.student_id;
    const [a, b, c] = klass.students;
    await postEvent(
      h,
      suggested(
        batchId,
        klass.classId,
        list.map((essay) => ({ essay, student_id: a!.student_id, score: 0.8 })),
      ),
    );
    const first = await confirm(batchId, [
      { essay_id: list[0]!.essay_id, student_id: b!.student_id, confirmed: true },
      { essay_id: list[1]!.essay_id, confirmed: false },
      { essay_id: list[2]!.essay_id, student_id: stranger, confirmed: true },
    ]);
    expect(first.status).toBe(200);
    expect(first.body.results).toEqual([
      { essay_id: list[0]!.essay_id, outcome: 'applied', validation_status: 'confirmed', student_id: b!.student_id },
      { essay_id: list[1]!.essay_id, outcome: 'applied', validation_status: 'rejected', student_id: null },
      {
        essay_id: list[2]!.essay_id,
        outcome: 'refused',
        reason: `student ${stranger} is not in the batch's class`,
        validation_status: 'pending_validation',
      },
    ]);
    expect(first.body.status).toBe('awaiting_student_validation');

    const before = await rowCounts(h);
    const again = await confirm(batchId, [{ essay_id: list[0]!.essay_id, student_id: c!.student_id, confirmed: true }]);
    expect(again.status).toBe(409);
    expect(again.body.results).toEqual([
      { essay_id: list[0]!.essay_id, outcome: 'refused', reason: 'already decided (confirmed)', validation_status: 'confirmed' },
    ]);
    const after = await rowCounts(h);
    expect({ ...after, history: before.history }).toEqual(before);
    expect(after.history).toBe(before.history! + 1);

    const last = await confirm(batchId, [{ essay_id: list[2]!.essay_id, student_id: c!.student_id, confirmed: true }]);
    expect(last.body).toMatchObject({ status: 'student_validation_completed' });
  });

  it('refuses an essay that is already associated in another batch with 409, changing nothing', async () => {
    const first = await provisionedBatch(1);
    await postEvent(h, suggested(first.batchId, first.klass.classId, [{ essay: first.list[0]! }]));
    const klass = first.klass;
    const second = await registerBatch(h, fx.teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
    expect((await postEvent(h, provisioned(second, first.list))).status).toBe(200);
    const before = await rowCounts(h);
    const clash = await postEvent(h, suggested(second, klass.classId, [{ essay: first.list[0]! }]));
    expect(clash.status).toBe(409);
    expect(clash.headers.get('content-type')).toContain('application/problem+json');
    expect(await rowCounts(h)).toEqual(before);
  });

  it('cancels a batch waiting for validation and clears its deadline', async () => {
    const { klass, batchId, list } = await provisionedBatch(1);
    await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id }]));
    const cancelled = await h.api('POST', `/v1/batches/${batchId}/cancel`, { token: fx.teacher, body: { reason: 'wrong class' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const view = await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher });
    expect(view.body.validation.due_at).toBeNull();
    const deadlines = await h.api('GET', '/v1/deadlines', { token: fx.teacher });
    expect(deadlines.body.deadlines.map((d: any) => d.batch_id)).not.toContain(batchId);
    const late = await confirm(batchId, [{ essay_id: list[0]!.essay_id, confirmed: true }]);
    expect(late.status).toBe(409);
    expect(late.body.state).toBe('cancelled');
    expect(late.body.allowed_events).toEqual([]);
  });

  it("lists only the caller's batches, filtered by status", async () => {
    const other = await h.teacher(`teacher-${uuid()}`);
    const mine = await registerBatch(h, other, { course_code: 'SV2', expected_essay_count: 1 });
    const listed = await h.api('GET', '/v1/batches?status=awaiting_content_validation', { token: other });
    expect(listed.body.batches.map((b: any) => b.batch_id)).toEqual([mine]);
    const none = await h.api('GET', '/v1/batches?status=ready_for_pipeline_execution', { token: other });
    expect(none.body.batches).toEqual([]);
  });
});
