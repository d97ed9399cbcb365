import { beforeAll } from 'vitest';
import { type HarnessOptions, harnessForSuite } from './harness.ts';

/**
 * A suite's harness (tests/support/harness.ts, started and closed around the suite) and the token of
 * one teacher, `sub`, made in the suite's beforeAll: read `fx.teacher` inside the tests.
 */
export function teacherSuite(options: HarnessOptions, sub: string) {
  const h = harnessForSuite(options);
  const fx = { teacher: '' };
  beforeAll(async () => {
    fx.teacher = await h.teacher(sub);
  });
  return { h, fx };
}
