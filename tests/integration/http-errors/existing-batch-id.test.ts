import { describe, expect, it } from 'vitest';
import { registerBatch, rowCounts, uuid } from '../../support/flow.ts';
import { expectProblem, errorsSuite } from './support.ts';

/** Registering a batch id that exists. */

const { h, fx, batchView } = errorsSuite('http_errors_batch_id');

describe('registering an existing batch_id', () => {
  const cases: Array<{ name: string; by: 'teacherA' | 'teacherB'; body: { course_code: string; expected_essay_count: number } }> = [
    { name: 'answers 409 to its owner and changes nothing', by: 'teacherA', body: { course_code: 'ENG6', expected_essay_count: 5 } },
    {
      name: 'answers 409 to another teacher too, and the batch stays its owner’s',
      by: 'teacherB',
      body: { course_code: 'ENG5', expected_essay_count: 1 },
    },
  ];
  for (const { name, by, body } of cases) {
    it(name, async () => {
      const batchId = uuid();
      await registerBatch(h, fx.teacherA, { course_code: 'ENG5', expected_essay_count: 1, batch_id: batchId });
      const viewBefore = await batchView(fx.teacherA, batchId);
      const before = await rowCounts(h);
      const res = await h.api('POST', '/v1/batches', { token: fx[by], body: { ...body, batch_id: batchId } });
      expectProblem(res, 409);
      expect(await rowCounts(h)).toEqual(before);
      expect(await batchView(fx.teacherA, batchId)).toEqual(viewBefore);
      // Only its owner sees the batch.
      expect((await h.api('GET', `/v1/batches/${batchId}`, { token: fx[by] })).status).toBe(by === 'teacherA' ? 200 : 404);
    });
  }
});
