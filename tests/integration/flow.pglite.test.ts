import { describe, it } from 'vitest';
import { harnessForSuite } from '../support/harness.ts';
import { streamFollowsDecisions } from '../support/review.ts';
import { guestFlow, regularFlow } from '../support/scenarios.ts';

describe('phase 1 flows on embedded PGlite (the no-DATABASE_URL default)', () => {
  const h = harnessForSuite({ label: 'pglite', pglite: true });

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
