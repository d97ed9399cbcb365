import { describe, expect, it, beforeAll } from 'vitest';
import { essays, postEvent, provisioned, rowCounts, uuid } from '../../support/flow.ts';
import { expectProblem, errorsSuite } from './support.ts';

/** Ownership: another teacher's batch or class does not exist for them. */

const { h, fx, regular, batchView } = errorsSuite('http_errors_ownership');

describe("another teacher's batch or class answers 404", () => {
  let batchA: { batchId: string; list: ReturnType<typeof essays> };
  beforeAll(async () => {
    batchA = await regular(fx.teacherA, fx.klassA, 'suggested');
  });

  const foreignBatchRequests = (batchId: string, essayId: string) => [
    { name: 'GET batch', method: 'GET', path: `/v1/batches/${batchId}` },
    { name: 'GET associations', method: 'GET', path: `/v1/batches/${batchId}/student-associations` },
    { name: 'GET history', method: 'GET', path: `/v1/batches/${batchId}/history` },
    {
      name: 'POST confirm',
      method: 'POST',
      path: `/v1/batches/${batchId}/student-associations/confirm`,
      body: { associations: [{ essay_id: essayId, confirmed: true }] },
    },
    { name: 'POST pipelines', method: 'POST', path: `/v1/batches/${batchId}/pipelines`, body: { pipeline: 'nlp' } },
    { name: 'POST cancel', method: 'POST', path: `/v1/batches/${batchId}/cancel`, body: { reason: 'not mine' } },
  ];

  it("teacher B gets 404 on every read and command of teacher A's batch, and A's batch is untouched", async () => {
    const viewBefore = await batchView(fx.teacherA, batchA.batchId);
    for (const req of foreignBatchRequests(batchA.batchId, batchA.list[0]!.essay_id)) {
      const before = await rowCounts(h);
      const res = await h.api(req.method, req.path, { token: fx.teacherB, body: req.body });
      expectProblem(res, 404);
      expect(JSON.stringify(res.body), `${req.name} must not leak the batch`).not.toContain(fx.klassA.classId);
      expect(await rowCounts(h), req.name).toEqual(before);
    }
    const viewAfter = await batchView(fx.teacherA, batchA.batchId);
    expect(viewAfter).toEqual(viewBefore);
  });

  it("teacher B's batch list does not show teacher A's batches", async () => {
    const res = await h.api('GET', '/v1/batches', { token: fx.teacherB });
    expect(res.status).toBe(200);
    expect((res.body.batches as Array<{ batch_id: string }>).map((b) => b.batch_id)).not.toContain(batchA.batchId);
  });

  it("teacher B gets 404 on teacher A's class: roster, adding students, registering a batch with it", async () => {
    const requests = [
      { name: 'GET students', method: 'GET', path: `/v1/classes/${fx.klassA.classId}/students` },
      {
        name: 'POST students',
        method: 'POST',
        path: `/v1/classes/${fx.klassA.classId}/students`,
        body: { students: [{ first_name: 'Intruder', last_name: 'Student', email: 'intruder@school.example' }] },
      },
      {
        name: 'POST batches with class_id',
        method: 'POST',
        path: '/v1/batches',
        body: { course_code: fx.klassA.courseCode, class_id: fx.klassA.classId, expected_essay_count: 1 },
      },
    ];
    for (const req of requests) {
      const before = await rowCounts(h);
      const res = await h.api(req.method, req.path, { token: fx.teacherB, body: req.body });
      expectProblem(res, 404);
      expect(await rowCounts(h), req.name).toEqual(before);
    }
    const roster = await h.api('GET', `/v1/classes/${fx.klassA.classId}/students`, { token: fx.teacherA });
    expect(roster.status).toBe(200);
    expect((roster.body.students as Array<{ email: string }>).map((s) => s.email)).not.toContain('intruder@school.example');
  });

  it('an unknown batch id answers 404 to a teacher and to a service, changing nothing', async () => {
    const unknown = uuid();
    for (const req of foreignBatchRequests(unknown, uuid())) {
      const before = await rowCounts(h);
      const res = await h.api(req.method, req.path, { token: fx.teacherA, body: req.body });
      expectProblem(res, 404);
      expect(await rowCounts(h), req.name).toEqual(before);
    }
    const before = await rowCounts(h);
    expectProblem(await postEvent(h, provisioned(unknown, essays(1))), 404);
    expect(await rowCounts(h)).toEqual(before);
  });

  it('an unknown class id answers 404 to its would-be owner', async () => {
    const unknown = uuid();
    const before = await rowCounts(h);
    expectProblem(await h.api('GET', `/v1/classes/${unknown}/students`, { token: fx.teacherA }), 404);
    expectProblem(
      await h.api('POST', '/v1/batches', { token: fx.teacherA, body: { course_code: 'ENG5', class_id: unknown, expected_essay_count: 1 } }),
      404,
    );
    expect(await rowCounts(h)).toEqual(before);
  });
});
