import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { TOPICS } from '../../machines/events.ts';
import { createClassWithStudents, essays, essaysReady, outboxEvents } from '../support/flow.ts';
import { postEvent, provisioned, suggested, registeredClassBatch } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { batchInvariants, readBatchFacts } from '../support/invariants.ts';
import { wireProblems } from '../support/wire.ts';

/**
 * Correcting an association after the batch moved on (issue 24, item 3): the deadline sent an essay
 * to the class's UNKNOWN student, and the teacher names its real author once the batch is ready,
 * until a pipeline is requested. All or none; the original decision's history row stays as written.
 */
const DAY_MS = 24 * 3_600_000;
const TEACHER = 'teacher-corrects';

describe.each([
  ['PostgreSQL', false],
  ['the embedded database', true],
])('correcting associations after validation, on %s', (_name, pglite) => {
  let h: Harness;
  let clock = Date.parse('2026-03-02T08:00:00.000Z');
  let teacher: string;

  beforeAll(async () => {
    h = await startHarness({ label: 'corrections', pglite, validationTimeoutMs: DAY_MS, now: () => new Date(clock) });
    teacher = await h.teacher(TEACHER);
  });
  afterAll(async () => {
    await h?.close();
  });

  /**
   * A ready batch of two essays the deadline decided: the first kept its confident suggestion
   * (students[0]), the second had none and went to UNKNOWN.
   */
  async function decidedByDeadline() {
    const { klass, batchId } = await registeredClassBatch(h, teacher, { count: 2 });
    const list = essays(2);
    expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
    const matches = [{ essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 }, { essay: list[1]! }];
    expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
    clock += DAY_MS + 60_000;
    expect((await h.service.apply(validationTimeout(batchId, 1, 'sweep'))).kind).toBe('applied');
    expect((await postEvent(h, essaysReady(batchId, list, 'REGULAR'))).status).toBe(200);
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    expect(batch.body.state).toBe('ready_for_pipeline_execution');
    return { batchId, list, students: klass.students.map((s) => s.student_id) };
  }

  const correct = (batchId: string, body: unknown) =>
    h.api('POST', `/v1/batches/${batchId}/student-associations/correct`, { token: teacher, body });
  const associationsOf = async (batchId: string) => {
    const res = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher });
    expect(res.status).toBe(200);
    return Object.fromEntries((res.body.associations as any[]).map((a) => [a.essay_id, a]));
  };
  const historyOf = async (batchId: string) =>
    (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as any[];
  const outboxOf = async (batchId: string) => (await outboxEvents(h)).filter((e) => e.batch_id === batchId);
  /** What a refused call must leave as it was. */
  const visible = async (batchId: string) => ({
    batch: (await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body,
    associations: await associationsOf(batchId),
    outbox: (await outboxOf(batchId)).length,
    applied: (await historyOf(batchId)).filter((r) => r.outcome === 'applied').length,
  });

  it('sends the essay the deadline linked to UNKNOWN to its real author once the batch is ready, on the real topics', async () => {
    const { batchId, list, students } = await decidedByDeadline();
    const before = await associationsOf(batchId);
    const unknownId = before[list[1]!.essay_id].student_id as string;
    expect(before[list[1]!.essay_id]).toMatchObject({ validation_status: 'no_match', validated_by: 'SYSTEM_TIMEOUT' });
    const timeoutRow = (await historyOf(batchId)).find((r) => r.event_type === 'VALIDATION_TIMEOUT');
    const outboxBefore = (await outboxOf(batchId)).length;

    const res = await correct(batchId, {
      corrections: [{ essay_id: list[1]!.essay_id, student_id: students[2], reason: 'Her name is on page 2' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      state: 'ready_for_pipeline_execution',
      associations_corrected: 1,
      results: [
        {
          essay_id: list[1]!.essay_id,
          outcome: 'applied',
          validation_status: 'confirmed',
          student_id: students[2],
          corrected_from: 'no_match',
          previous_student_id: unknownId,
        },
      ],
    });
    const after = await associationsOf(batchId);
    expect(after[list[1]!.essay_id]).toMatchObject({
      validation_status: 'confirmed',
      student_id: students[2],
      validation_method: 'human',
      validated_by: TEACHER,
    });
    expect(after[list[0]!.essay_id]).toEqual(before[list[0]!.essay_id]);

    // Downstream: the association-updated event and the teacher's notice, both as the real models validate them.
    const added = (await outboxOf(batchId)).slice(outboxBefore);
    expect(added.map((e) => e.topic)).toEqual([TOPICS.associationUpdated, TOPICS.teacherNotification]);
    for (const e of added) expect(wireProblems(e.envelope, 'outbound', batchId)).toEqual([]);
    expect(added[0]!.envelope.data).toMatchObject({
      essay_id: list[1]!.essay_id,
      student_id: students[2],
      association_method: 'human',
      created_by_user_id: TEACHER,
    });
    expect(added[0]!.envelope.data.first_name).toEqual(expect.any(String));
    expect(added[1]!.envelope.data).toMatchObject({
      teacher_id: TEACHER,
      notification_type: 'student_associations_confirmed',
      payload: { batch_id: batchId, confirmed_count: 1, correction: true, corrected_essay_ids: [list[1]!.essay_id] },
    });
    expect((await outboxOf(batchId)).filter((e) => e.topic === TOPICS.associationsConfirmed)).toHaveLength(1);

    // The history: the deadline's row as written, and the correction's with what it replaced, who, to whom, why.
    const history = await historyOf(batchId);
    expect(history.find((r) => r.event_type === 'VALIDATION_TIMEOUT')).toEqual(timeoutRow);
    const row = history.find((r) => r.event_type === 'TEACHER_CORRECTED');
    expect(row).toMatchObject({ actor: TEACHER, outcome: 'applied', from_state: 'ready_for_pipeline_execution' });
    expect(row.detail.corrected).toEqual([
      {
        essay_id: list[1]!.essay_id,
        replaced: {
          validation_status: 'no_match',
          student_id: unknownId,
          validation_method: 'timeout',
          decided_by: 'SYSTEM_TIMEOUT',
          decided_at: before[list[1]!.essay_id].validated_at,
        },
        student_id: students[2],
        corrected_by: TEACHER,
        reason: 'Her name is on page 2',
      },
    ]);
    expect(batchInvariants(await readBatchFacts(h, TEACHER, batchId))).toEqual([]);
  });

  it('is all or none: one correction that cannot apply refuses the call with 409 and a reason per essay', async () => {
    const { batchId, list, students } = await decidedByDeadline();
    const seen = await visible(batchId);
    const res = await correct(batchId, {
      corrections: [
        { essay_id: list[1]!.essay_id, student_id: students[2] },
        { essay_id: list[0]!.essay_id, student_id: students[0] },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.results).toEqual([
      {
        essay_id: list[1]!.essay_id,
        outcome: 'refused',
        reason: 'not applied: corrections are all or none, and another one in this call was refused',
        validation_status: 'no_match',
      },
      {
        essay_id: list[0]!.essay_id,
        outcome: 'refused',
        reason: `already associated with student ${students[0]}`,
        validation_status: 'timeout_confirmed',
      },
    ]);
    const outside = (await createClassWithStudents(h, teacher, 'ENG5', 1)).students[0]!.student_id;
    const foreign = await correct(batchId, { corrections: [{ essay_id: list[1]!.essay_id, student_id: outside }] });
    expect(foreign.status).toBe(409);
    expect(foreign.body.results[0].reason).toBe(`student ${outside} is not in the batch's class`);
    expect(await visible(batchId)).toEqual(seen);
  });

  it('is refused once a pipeline was requested, and while the batch awaits the teacher', async () => {
    const { batchId, list, students } = await decidedByDeadline();
    expect((await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } })).status).toBe(202);
    const seen = await visible(batchId);
    const late = await correct(batchId, { corrections: [{ essay_id: list[1]!.essay_id, student_id: students[2] }] });
    expect(late.status).toBe(409);
    expect(late.body.results[0].reason).toBe('a pipeline was requested; the authors can no longer be corrected');
    expect(await visible(batchId)).toEqual(seen);

    const { klass, batchId: waiting } = await registeredClassBatch(h, teacher, { students: 2, count: 2 });
    const two = essays(2);
    expect((await postEvent(h, provisioned(waiting, two))).status).toBe(200);
    const matches = two.map((essay, i) => ({ essay, student_id: klass.students[i]!.student_id }));
    expect((await postEvent(h, suggested(waiting, klass.classId, matches))).status).toBe(200);
    const decided = await h.api('POST', `/v1/batches/${waiting}/student-associations/confirm`, {
      token: teacher,
      body: { associations: [{ essay_id: two[0]!.essay_id, confirmed: true }] },
    });
    expect(decided.status).toBe(200);
    const early = await correct(waiting, { corrections: [{ essay_id: two[0]!.essay_id, student_id: klass.students[1]!.student_id }] });
    expect(early.status).toBe(409);
    expect(early.body.detail).toContain('does not accept TEACHER_CORRECTED');
    expect(early.body.results[0].reason).toBe('the batch still awaits the teacher: reopen the decision and decide again instead');
  });

  it('answers a malformed body with 400 problem+json and changes nothing', async () => {
    const { batchId, list, students } = await decidedByDeadline();
    const seen = await visible(batchId);
    const essayId = list[1]!.essay_id;
    for (const body of [
      {},
      { corrections: [] },
      { corrections: [{ essay_id: essayId }] },
      { corrections: [{ essay_id: 'not-a-uuid', student_id: students[0] }] },
      { corrections: [{ essay_id: essayId, student_id: students[0], extra: 1 }] },
      { corrections: [{ essay_id: essayId, student_id: students[0], reason: 'x'.repeat(501) }] },
      {
        corrections: [
          { essay_id: essayId, student_id: students[0] },
          { essay_id: essayId, student_id: students[1] },
        ],
      },
      { corrections: [{ essay_id: essayId, student_id: students[0] }], also: true },
    ]) {
      const res = await correct(batchId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await visible(batchId)).toEqual(seen);
  });
});
