import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../app/service.ts';
import { createHttpApp } from '../../server/app.ts';
import { type ReviewServed, boundedPage, refuseForeign, serveReview } from '../support/browser.ts';
import type { Harness } from '../support/harness.ts';
import { RUNNER_UP_SCORE, reviewBatch } from '../support/review.ts';

/** Screenshots of each view, for people to look at; git-ignored, never compared. */
const SHOTS = join(import.meta.dirname, '../../test-results/review');

describe('the review page in Chromium, on PostgreSQL', { timeout: 90_000 }, () => {
  let served: ReviewServed;
  let harness: Harness;
  let base: string;
  let context: BrowserContext;
  const pageErrors: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // Every batch waiting for another service counts as stuck after 1 ms, so the mark shows.
    served = await serveReview(
      { label: 'review_browser' },
      { stuckAfterMs: 1, developmentTeachers: async () => [{ teacher_id: 'teacher-a', token: await harness.teacher('teacher-a') }] },
    );
    ({ harness, base } = served);
    context = await served.browser.newContext({ viewport: { width: 1400, height: 1000 }, timezoneId: 'Europe/Stockholm' });
    // Anything not served here is refused, so a stray CDN or font reference fails the test.
    await refuseForeign(context, base, foreign);
  });

  afterAll(async () => {
    await context?.close();
    await served?.close();
  });

  // An open tab would sign the next test's tabs in (tabs share the session): each test closes its own.
  afterEach(async () => {
    for (const page of context.pages()) await page.close();
  });

  const newPage = (): Promise<Page> => boundedPage(context, pageErrors);

  /** Signs in with the keyboard alone: Tab to the token field, type, Tab to the button, Enter. */
  async function signIn(page: Page, token: string) {
    await page.goto(`${base}/`);
    await page.waitForSelector('#view-signin');
    expect(new URL(page.url()).pathname).toBe('/review');
    for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'token'; i++) await page.keyboard.press('Tab');
    await page.keyboard.insertText(token);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('signin');
    await page.keyboard.press('Enter');
  }

  const row = (page: Page, essayId: string) => page.locator(`tr[data-essay="${essayId}"]`);

  /** The chart and the machine's names are behind the "details" toggle. */
  async function showDetails(page: Page) {
    if ((await page.locator('#details-toggle').getAttribute('aria-expanded')) !== 'true') await page.click('#details-toggle');
    await page.waitForSelector('#details');
  }

  async function openBatch(page: Page, batchId: string) {
    await page.waitForSelector(`#open-${batchId}`);
    await page.focus(`#open-${batchId}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#view-batch[data-state]');
  }

  /** Every control has a name a screen reader can say. */
  async function unlabelled(page: Page): Promise<string[]> {
    return page.evaluate(() =>
      [...document.querySelectorAll('button, select, textarea, input, a[href]')]
        .filter((el) => {
          const labelled = (el as HTMLInputElement).labels?.length ?? 0;
          return !(el.getAttribute('aria-label') || labelled > 0 || (el.textContent ?? '').trim() !== '');
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
  }

  it('takes a teacher from sign-in to a settled batch; a second tab follows through the stream', async () => {
    const teacher = await harness.teacher('teacher-a');
    const { batchId, essays, klass } = await reviewBatch(harness, teacher, {
      files: ['astrid.docx', 'bertil.docx', 'cecilia.docx', 'david.docx'],
      scores: [0.95, 0.8, 0.4, 0.97],
    });
    const [e1, e2, e3, e4] = essays.map((e) => e.essay_id) as [string, string, string, string];

    const page = await newPage();
    await signIn(page, teacher);
    await page.waitForSelector(`#view-batches tr[data-batch="${batchId}"] .countdown`);
    expect(await unlabelled(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'my-batches.png'), fullPage: true });

    await openBatch(page, batchId);
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    await page.waitForSelector('#view-batch[data-state="awaiting_student_validation.awaiting_teacher"]');
    await expect.poll(() => page.locator('#deadline .countdown').count()).toBe(1);
    // The matcher's file names, rows in file-name order; each row's runner-up under "Other suggestions".
    expect(await page.locator('#associations tbody tr th').allTextContents()).toEqual([
      'astrid.docx',
      'bertil.docx',
      'cecilia.docx',
      'david.docx',
    ]);
    const studentName = (i: number) => `${klass.students[i]!.first_name} ${klass.students[i]!.last_name}`;
    for (const [i, essayId] of [e1, e2, e3, e4].entries()) {
      expect(await row(page, essayId).locator('td.suggested .student').textContent(), `suggested for essay ${i}`).toBe(studentName(i % 3));
      expect(await row(page, essayId).locator('.others li').allTextContents(), `other suggestions for essay ${i}`).toEqual([
        `${studentName((i + 1) % 3)} ${Math.round(RUNNER_UP_SCORE * 100)} %`,
      ]);
    }
    expect(await row(page, e1).textContent()).toContain('high');
    expect(await row(page, e3).textContent()).toContain('links the unknown student');
    expect(await row(page, e1).textContent()).toContain('keeps the suggestion');
    await showDetails(page);
    await page.waitForSelector('#chart-svg svg');
    await expect.poll(() => page.locator(`select#correct-to-${e2} option`).count()).toBe(4);
    expect(await unlabelled(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'batch-pending.png'), fullPage: true });

    // A second tab of the same browser is signed in by the first (the token never leaves the browser session).
    const second = await newPage();
    await second.goto(`${base}/review#/batches/${batchId}`);
    await second.waitForSelector('#view-batch #associations');
    await second.waitForSelector(`tr[data-essay="${e1}"][data-status="pending_validation"]`);

    // A double click sends one request: the store refuses a second action on the same essay.
    await page.dblclick(`#confirm-${e1}`);
    await page.waitForSelector(`#answer-${e1}:text("Done: confirmed.")`);
    await second.waitForSelector(`tr[data-essay="${e1}"][data-status="confirmed"]`);

    // The deadline moves a day on; then one request confirms what is left with high confidence (e4).
    const dueBefore = await page.locator('#deadline .countdown').getAttribute('data-due');
    await page.dblclick('#extend');
    await page.waitForSelector('#batch-answers:has-text("The automatic decision is now")');
    await expect.poll(() => page.locator('#deadline .countdown').getAttribute('data-due')).not.toBe(dueBefore);
    expect(await page.locator('#deadline .countdown').textContent()).toMatch(/^in 1 d 0 h/);
    expect(await page.locator('#confirm-high').textContent()).toBe('Confirm all with high confidence (1)');
    await page.click('#confirm-high');
    await page.waitForSelector(`#answer-${e4}:text("Done: confirmed.")`);
    await second.waitForSelector(`tr[data-essay="${e4}"][data-status="confirmed"]`);

    await page.focus(`#correct-to-${e2}`);
    await page.selectOption(`#correct-to-${e2}`, klass.students[2]!.student_id);
    await page.focus(`#correct-${e2}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#answer-${e2}:text("Done: confirmed.")`);
    // The keyboard user's place is kept: focus moved from the now disabled button to the row's answer.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`answer-${e2}`);
    await page.click(`#reject-${e3}`);
    await page.click(`#reject-yes-${e3}`);
    // The last decision settles the batch: the row says what became of it (the actions column goes).
    await page.waitForSelector(`tr[data-essay="${e3}"][data-status="rejected"]`);

    await showDetails(second);
    for (const p of [page, second]) {
      await p.waitForSelector('#view-batch[data-state="student_validation_completed"]');
      await p.waitForSelector('#chart-svg[data-rendered-state="student_validation_completed"] svg');
      expect(await p.locator('#deadline').count()).toBe(0);
      expect(await p.locator('#no-deadline').count()).toBe(1);
    }
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(await row(second, e2).textContent()).toContain(`${klass.students[2]!.first_name} ${klass.students[2]!.last_name}`);
    expect(await second.locator('#chart-path').textContent()).toContain('student_validation_completed');

    const history = await harness.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
    const decisions = (history.body.history as any[]).filter((r) => r.event_type === 'TEACHER_DECISIONS');
    expect(decisions.filter((r) => r.outcome === 'applied')).toHaveLength(4);
    expect(decisions.filter((r) => r.outcome === 'refused')).toHaveLength(0);
    const moves = (history.body.history as any[]).filter((r) => r.event_type === 'DEADLINE_CHANGED');
    expect(moves.map((r) => r.outcome)).toEqual(['applied']); // the double click moved it once
    await page.screenshot({ path: join(SHOTS, 'batch-settled.png'), fullPage: true });
    await second.close();
    await page.close();
  }, 90_000);

  it('shows the deadline deciding a batch while the page is open', async () => {
    const teacher = await harness.teacher('teacher-a');
    // Suggestions posted through a service with a 4 s VALIDATION_TIMEOUT_MS; the sweep runs every 200 ms.
    const shortService = createService({ db: harness.database.db, validationTimeoutMs: 4000 });
    const shortApp = createHttpApp(shortService, { auth: { serviceToken: harness.serviceToken, jwtSecret: harness.jwtSecret } });
    const { batchId, essays, suggestion } = await reviewBatch(harness, teacher, { suggest: false });
    const page = await newPage();
    await signIn(page, teacher);
    // Waiting for the matcher's suggestions longer than the stuck threshold: marked on My batches.
    await page.waitForSelector(`tr[data-batch="${batchId}"].stuck .badge-stuck`);
    await openBatch(page, batchId);
    await page.waitForSelector('#view-batch[data-state="awaiting_student_validation.awaiting_suggestions"]');
    await showDetails(page);
    const posted = await shortApp.request('/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${harness.serviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(suggestion),
    });
    expect(posted.status).toBe(200);
    await page.waitForSelector(`tr[data-essay="${essays[0]!.essay_id}"][data-status="pending_validation"]`);
    await page.waitForSelector('#deadline .countdown');
    await page.waitForSelector('#view-batch[data-state="student_validation_completed"]', { timeout: 15_000 });
    await page.waitForSelector(`tr[data-essay="${essays[0]!.essay_id}"][data-status="timeout_confirmed"]`);
    // Below 0.7 the deadline links the class's UNKNOWN student, as the row said it would.
    await page.waitForSelector(`tr[data-essay="${essays[2]!.essay_id}"][data-status="no_match"]`);
    expect(await row(page, essays[2]!.essay_id).textContent()).toContain('Linked to the unknown student');
    await page.waitForSelector('#chart-svg[data-rendered-state="student_validation_completed"] svg');
    expect(await page.locator('#history-list').textContent()).toContain('The deadline passed and the automatic decision settled the rest:');
    expect(await page.locator('#history-machine').textContent()).toContain('VALIDATION_TIMEOUT');
    await page.screenshot({ path: join(SHOTS, 'batch-decided-by-deadline.png'), fullPage: true });
    await page.close();
  });

  it("shows teacher B none of teacher A's batches; A's stream answers B 404", async () => {
    const teacherA = await harness.teacher('teacher-a');
    const teacherB = await harness.teacher('teacher-b');
    const { batchId } = await reviewBatch(harness, teacherA);
    const page = await newPage();
    await signIn(page, teacherB);
    await page.waitForSelector('#view-batches');
    expect(await page.locator(`tr[data-batch="${batchId}"]`).count()).toBe(0);
    await page.goto(`${base}/review#/batches/${batchId}`);
    await page.waitForSelector('#missing:text("This batch does not exist, or it belongs to another teacher.")');
    const status = await page.evaluate(
      async ([id, token]) => (await fetch(`/v1/batches/${id}/stream`, { headers: { authorization: `Bearer ${token}` } })).status,
      [batchId, teacherB] as const,
    );
    expect(status).toBe(404);
    await page.close();
  });

  it("shows the operators' numbers to the service token", async () => {
    const page = await newPage();
    await signIn(page, harness.serviceToken);
    await page.waitForSelector('#view-operator #op-overdue dd');
    expect(Number(await page.locator('#op-overdue dd').textContent())).toBeGreaterThanOrEqual(0);
    expect(await page.locator('#op-outbox dd').textContent()).toMatch(/^\d+\.\d s$/);
    expect(await unlabelled(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'operator.png'), fullPage: true });
    await page.goto(`${base}/review#/signin`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.waitForSelector('#dev-teacher-a');
    await page.screenshot({ path: join(SHOTS, 'sign-in.png'), fullPage: true });
    await page.close();
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
