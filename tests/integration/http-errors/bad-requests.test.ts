import { beforeAll, describe, expect, it } from 'vitest';
import { rowCounts } from '../../support/flow.ts';
import { batchCommandRequests } from './batch-commands.ts';
import { batchRequests } from './batches.ts';
import { classRequests } from './classes.ts';
import { eventRequests } from './events.ts';
import { outboxRequests } from './outbox.ts';
import { type BadRequestFixture, errorPaths, errorsSuite, expectNamesField, expectProblem } from './support.ts';

/** Bad input, route family by route family: the right 4xx, problem+json, nothing changed. */

const { h, fx: teachers, regular, batchView } = errorsSuite('http_errors');
const fx = {
  h,
  get teacherA() {
    return teachers.teacherA;
  },
  get teacherB() {
    return teachers.teacherB;
  },
  get klassA() {
    return teachers.klassA;
  },
  asA: () => ({ token: teachers.teacherA }),
} as BadRequestFixture;
beforeAll(async () => {
  fx.registeredBatch = (await regular(fx.teacherA, fx.klassA, 'registered')).batchId;
  fx.suggestingBatch = await regular(fx.teacherA, fx.klassA, 'provisioned');
  fx.pendingBatch = await regular(fx.teacherA, fx.klassA, 'suggested');
});

const badRequests = [...eventRequests(fx), ...outboxRequests(fx), ...batchRequests(fx), ...classRequests(fx), ...batchCommandRequests(fx)];

describe('bad requests answer their 4xx as problem+json and change nothing', () => {
  it.each(badRequests)('$name → $status', async (bad) => {
    const before = await rowCounts(h);
    const res = await bad.send();
    expectProblem(res, bad.status);
    for (const path of bad.paths ?? []) {
      const paths = errorPaths(res);
      if (typeof path === 'string') expect(paths).toContain(path);
      else
        expect(
          paths.some((p) => path.test(p)),
          `${JSON.stringify(paths)} should match ${path}`,
        ).toBe(true);
    }
    if (bad.names) expectNamesField(res, bad.names);
    expect(await rowCounts(h)).toEqual(before);
  });

  it('no bad request answers a 5xx', async () => {
    const serverErrors: string[] = [];
    for (const bad of badRequests) {
      const res = await bad.send();
      if (res.status >= 500) serverErrors.push(`${bad.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(serverErrors).toEqual([]);
  });

  it('the fixture batches are where the bad requests found them', async () => {
    // Every bad request above aimed at a batch that a valid request would have moved.
    expect((await batchView(fx.teacherA, fx.registeredBatch)).state).toBe('awaiting_content_validation');
    expect((await batchView(fx.teacherA, fx.suggestingBatch.batchId)).status).toBe('awaiting_student_validation');
    const pending = await batchView(fx.teacherA, fx.pendingBatch.batchId);
    expect(pending.validation).toMatchObject({ pending: 2, confirmed: 0 });
  });
});
