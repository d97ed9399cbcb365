import { describe, it } from 'vitest';
import { harnessForSuite } from '../support/harness.ts';
import { guestFlow, regularFlow } from '../support/scenarios.ts';

describe('phase 1 flows on PostgreSQL', () => {
  const h = harnessForSuite({ label: 'flow' });

  it('takes a REGULAR batch from registration to a started pipeline, only after validation and storage', async () => {
    await regularFlow(h);
  });

  it('takes a GUEST batch to ready without student validation', async () => {
    await guestFlow(h);
  });
});
