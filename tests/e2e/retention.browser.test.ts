import { sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../app/retention-redact.ts';
import { rows } from '../../db/client.ts';
import { type ReviewServed, boundedPage, refuseForeign, serveReview } from '../support/browser.ts';
import { reviewBatch } from '../support/review.ts';

/** The review page of a batch whose personal data retention erased: it opens, with the pseudonyms where the names were. */
describe('the review page of a purged batch, in Chromium', { timeout: 90_000 }, () => {
  let served: ReviewServed;
  let context: BrowserContext;
  const pageErrors: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    served = await serveReview({ label: 'retention_browser', retentionDays: 30 }, { stuckAfterMs: 3_600_000 });
    context = await served.browser.newContext({ viewport: { width: 1400, height: 1000 }, timezoneId: 'Europe/Stockholm' });
    await refuseForeign(context, served.base, foreign);
  });
  afterAll(async () => {
    await context?.close();
    await served?.close();
  });

  it('shows the decisions of a purged batch with [redacted] for its file and student names', async () => {
    const h = served.harness;
    const teacher = await h.teacher('teacher-a');
    const files = ['astrid.docx', 'bertil.docx', 'cecilia.docx'];
    const { batchId, essays } = await reviewBatch(h, teacher, { files });
    const cancelled = await h.api('POST', `/v1/batches/${batchId}/cancel`, { token: teacher, body: { reason: 'fel klass' } });
    expect(cancelled.status).toBe(200);
    await rows(h.database.db, sql`UPDATE batches SET updated_at = now() - interval '31 days' WHERE batch_id = ${batchId}`);
    const report = await h.service.purgeExpired();
    expect(report!.batches.map((b) => b.batch_id)).toEqual([batchId]);

    const page: Page = await boundedPage(context, pageErrors);
    await page.goto(`${served.base}/review`);
    await page.fill('#token', teacher);
    await page.click('#signin');
    // The batch is in the teacher's list (cancelled), and opens.
    await page.waitForSelector(`#open-${batchId}`);
    await page.click(`#open-${batchId}`);
    await page.waitForSelector('#view-batch[data-state="cancelled"] #associations');
    const labels = await page.locator('#associations tbody tr th').allTextContents();
    expect(labels).toEqual(essays.map(() => REDACTED));
    for (const essay of essays) {
      expect(await page.locator(`tr[data-essay="${essay.essay_id}"] td.suggested .student`).textContent()).toBe(REDACTED);
    }
    const text = (await page.textContent('body')) ?? '';
    for (const file of files) expect(text).not.toContain(file);
    expect(text).not.toContain('fel klass');
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
