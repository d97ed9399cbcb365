import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import { createClassWithStudents, essays, outboxEvents, postEvent } from '../support/flow.ts';
import { provisioned, provisionedClassBatch, registerBatch, suggested } from '../support/flow.ts';
import { teacherSuite } from '../support/suite.ts';

describe('concurrent requests on one batch', () => {
  const { h, fx } = teacherSuite({ label: 'concurrency' }, 'teacher-a');

  it('accepts exactly one of fifty conflicting provisioning events, every time', async () => {
    const klass = await createClassWithStudents(h, fx.teacher, 'ENG7', 1);
    for (let round = 0; round < 5; round++) {
      const batchId = await registerBatch(h, fx.teacher, { course_code: 'ENG7', class_id: klass.classId, expected_essay_count: 2 });
      const answers = await Promise.all(Array.from({ length: 50 }, () => postEvent(h, provisioned(batchId, essays(2), 'ENG7'))));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
      const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher });
      expect(batch.body.version).toBe(2);
      const commands = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
      expect(commands).toHaveLength(1);
      const winner = answers.find((a) => a.status === 200)!;
      expect(commands[0]!.envelope.data.essays_to_process).toHaveLength(2);
      const history = await h.api('GET', `/v1/batches/${batchId}/history`, { token: fx.teacher });
      const applied = (history.body.history as any[]).filter((r) => r.outcome === 'applied');
      expect(applied.map((r) => r.event_id)).toContain(winner.body.event_id);
      expect(applied).toHaveLength(2);
    }
  });

  it('loses no teacher decision when fifty arrive at once for different essays', async () => {
    const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, fx.teacher, {
      courseCode: 'SV1',
      students: 2,
      count: 50,
    });
    expect(provisioning.status).toBe(200);
    const student = klass.students[0]!.student_id;
    const other = klass.students[1]!.student_id;
    const matches = list.map((essay) => ({ essay, student_id: student, score: 0.5 }));
    expect((await postEvent(h, suggested(batchId, klass.classId, matches, 'SV1'))).status).toBe(200);

    const answers = await Promise.all(
      list.map((essay) =>
        h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
          token: fx.teacher,
          body: { associations: [{ essay_id: essay.essay_id, student_id: other, confirmed: true }] },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const associations = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: fx.teacher });
    expect((associations.body.associations as any[]).every((a) => a.validation_status === 'confirmed' && a.student_id === other)).toBe(
      true,
    );
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher });
    expect(batch.body).toMatchObject({ status: 'student_validation_completed', version: 3 + 50 });
    expect(batch.body.validation).toMatchObject({ pending: 0, confirmed: 50, due_at: null });
    const confirmed = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId);
    expect(confirmed).toHaveLength(1);
    expect(confirmed[0]!.envelope.data.validation_summary).toMatchObject({ total_associations: 50, confirmed: 50 });
  });

  it('applies an event once when twenty copies with the same event_id race', async () => {
    const batchId = await registerBatch(h, fx.teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    const event = provisioned(batchId, essays(1));
    const answers = await Promise.all(Array.from({ length: 20 }, () => postEvent(h, event)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    const { duplicate: _, ...first } = answers.find((a) => a.body.duplicate === false)!.body;
    for (const a of answers) expect({ ...a.body, duplicate: false }).toEqual({ ...first, duplicate: false });
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher });
    expect(batch.body.version).toBe(2);
  });
});
