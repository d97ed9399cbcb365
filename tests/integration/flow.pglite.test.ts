import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';
import { streamFollowsDecisions } from '../support/review.ts';
import { guestFlow, regularFlow } from '../support/scenarios.ts';

describe('phase 1 flows on embedded PGlite (the no-DATABASE_URL default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ label: 'pglite', pglite: true });
  });
  afterAll(() => h?.close());

  it('takes a REGULAR batch through the whole flow with the same migrations and code path', async () => {
    await regularFlow(h);
  });

  it('takes a GUEST batch to ready', async () => {
    await guestFlow(h);
  });

  it("streams a batch's committed changes (the review page's live updates)", async () => {
    await streamFollowsDecisions(h);
  });
});
