import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import { en } from '../../web/review/i18n/en.ts';
import { sv } from '../../web/review/i18n/sv.ts';
import { duration } from '../../web/review/i18n/index.ts';
import { essays, essaysReady, postEvent, provisioned, registerBatch } from '../support/flow.ts';
import { type ReviewServed, boundedPage, refuseForeign, serveReview } from '../support/browser.ts';
import type { Harness } from '../support/harness.ts';
import { reviewBatch } from '../support/review.ts';

/**
 * Issue 23: the review page as a Swedish (or English) teacher meets it, on a laptop (1280 and
 * 1024 px) and a phone (390 px), in Debian's Chromium. Screenshots go to the git-ignored
 * tests/e2e/artifacts/ for people to look at; they are never compared.
 */

const SHOTS = join(import.meta.dirname, 'artifacts');
const AXE = readFileSync(join(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8');
const WIDTHS = [1280, 1024, 390] as const;
type Lang = 'sv' | 'en';
const CATALOGUE = { sv, en };

/** Names of the machine and of the wire that must never reach the plain view. */
const MACHINE_WORDS =
  /awaiting_|pending_validation|student_validation|ready_for_pipeline|content_validation|TEACHER_DECISIONS|TEACHER_REOPENED|TEACHER_CORRECTED|VALIDATION_TIMEOUT|VALIDATION_PAUSED|VALIDATION_RESUMED|DEADLINE_CHANGED|no_match|noAssociationPending|timeout_confirmed|huleedu\.|UNKNOWN STUDENT|\{"|"\w+":/;

/** The catalogue's fixed sentences of the other language: none may show in this one's plain view. */
function otherLanguageSentences(lang: Lang): string[] {
  const other = CATALOGUE[lang === 'sv' ? 'en' : 'sv'];
  const mine = CATALOGUE[lang];
  const out: string[] = [];
  const walk = (a: unknown, b: unknown) => {
    if (typeof a === 'string') {
      // Multi-word sentences only (a name like "HuleEdu" or "NLP" may be the same in both).
      if (a.includes(' ') && a !== b && !/^[\d\s%·—–-]*$/.test(a)) out.push(a);
    } else if (a && typeof a === 'object') for (const [k, v] of Object.entries(a)) walk(v, (b as Record<string, unknown>)?.[k]);
  };
  walk(other, mine);
  // The language switch names the other language in that language, on purpose.
  return out.filter((s) => s !== other.switchTo && s !== mine.switchTo && s !== mine.switchToLabel && s !== other.switchToLabel);
}

describe('the review page for a teacher, in Swedish and English, laptop and phone', { timeout: 120_000 }, () => {
  let served: ReviewServed;
  let harness: Harness;
  let base: string;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const foreign: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    served = await serveReview({ label: 'review_teacher', validationTimeoutMs: 86_400_000 }, { stuckAfterMs: 3_600_000 }, ['--headless']);
    ({ harness, base } = served);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await served?.close();
  });

  /** A fresh browser profile with the browser's language `lang` (navigator.language) at `width` px. */
  async function browserAt(width: number, lang: Lang): Promise<BrowserContext> {
    const context = await served.browser.newContext({
      viewport: { width, height: width < 600 ? 844 : 900 },
      locale: lang === 'sv' ? 'sv-SE' : 'en-GB',
      timezoneId: 'Europe/Stockholm',
      isMobile: width < 600,
      hasTouch: width < 600,
    });
    contexts.push(context);
    await refuseForeign(context, base, foreign);
    return context;
  }

  const open = new Set<Page>();
  // A failing test leaves a picture of every page it had open, to see what the teacher saw.
  afterEach(async (test) => {
    if (test.task.result?.state === 'fail') {
      let i = 0;
      for (const page of open)
        if (!page.isClosed())
          await page
            .screenshot({ path: join(SHOTS, `failed-${test.task.name.slice(0, 40).replace(/\W+/g, '-')}-${i++}.png`), fullPage: true })
            .catch(() => {});
    }
    for (const page of open) await page.close().catch(() => {});
    open.clear();
  });

  async function newPage(context: BrowserContext): Promise<Page> {
    const page = await boundedPage(context, pageErrors);
    open.add(page);
    return page;
  }

  async function signIn(page: Page, token: string, hash = '') {
    await page.goto(`${base}/review${hash}`);
    await page.fill('#token', token);
    await page.click('#signin');
  }

  async function openBatch(page: Page, batchId: string) {
    await page.click(`#open-${batchId}`);
    await page.waitForSelector('#view-batch[data-state]');
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** axe-core in the page: serious and critical violations, named. */
  async function accessibilityProblems(page: Page): Promise<string[]> {
    await page.addScriptTag({ content: AXE });
    const violations = await page.evaluate(async () => {
      const axe = (
        window as unknown as {
          axe: {
            run(
              context: Document,
              options: object,
            ): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
          };
        }
      ).axe;
      return (await axe.run(document, { resultTypes: ['violations'] })).violations;
    });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  /** What the teacher reads must be plain words of the chosen language: no machine name, no other-language sentence. */
  async function plainWordsOnly(page: Page, lang: Lang) {
    const text = await page.evaluate(() => document.body.innerText);
    expect(text, 'a machine name in the plain view').not.toMatch(MACHINE_WORDS);
    const leaked = otherLanguageSentences(lang).filter((s) => text.includes(s));
    expect(leaked, 'a sentence of the other language').toEqual([]);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang);
  }

  /** No sideways scrolling: the page is no wider than the window. */
  const pageWidth = (page: Page) => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, window: window.innerWidth }));
  async function fitsWidth(page: Page) {
    const { scroll, window } = await pageWidth(page);
    expect(scroll, `page ${scroll} px wide in a ${window} px window`).toBeLessThanOrEqual(window);
  }

  /** A class batch waiting for the teacher: high, medium and low confidence, and one essay the matcher found nobody for. */
  async function waitingBatch(teacher: string) {
    const {
      batchId,
      essays: list,
      klass,
      suggestion,
    } = await reviewBatch(harness, teacher, {
      files: ['astrid.docx', 'bertil.docx', 'cecilia.docx', 'david.docx'],
      scores: [0.95, 0.8, 0.4, 0.9],
      suggest: false,
    });
    // The fourth essay: no suggestion at all (a no-match row).
    (suggestion.data.match_results as Array<{ suggestions: unknown[] }>)[3]!.suggestions = [];
    expect((await postEvent(harness, suggestion)).status).toBe(200);
    return { batchId, list, klass, ids: list.map((e) => e.essay_id) as [string, string, string, string] };
  }

  /** A teacher with a waiting batch (waitingBatch), and a page in a fresh browser at `width` px in `lang`. */
  async function teacherWithBatch(name: string, width: number, lang: Lang) {
    const teacher = await harness.teacher(name);
    const batch = await waitingBatch(teacher);
    const context = await browserAt(width, lang);
    return { teacher, ...batch, context, page: await newPage(context) };
  }

  for (const [width, lang] of [
    [390, 'sv'],
    [1280, 'en'],
  ] as const) {
    it(`takes a batch from suggestions to a started pipeline at ${width} px in ${lang === 'sv' ? 'Swedish' : 'English'}`, async () => {
      const t = CATALOGUE[lang];
      const { teacher, batchId, list, klass, ids, page } = await teacherWithBatch(`teacher-flow-${lang}`, width, lang);
      const [e1, e2, e3, e4] = ids;
      await signIn(page, teacher);
      await page.waitForSelector(`#view-batches tr[data-batch="${batchId}"] .countdown`);
      expect(await page.locator(`tr[data-batch="${batchId}"] .state-words`).textContent()).toBe(
        t.state['awaiting_student_validation.awaiting_teacher'],
      );
      await plainWordsOnly(page, lang);
      await openBatch(page, batchId);
      await page.waitForSelector(`tr[data-essay="${e1}"] #confirm-${e1}`);
      expect(await page.locator('#batch-status').textContent()).toBe(lang === 'sv' ? 'Väntar på ditt beslut' : 'Waiting for your decision');
      // Why the automatic decision falls when it does: this service counts wall-clock hours.
      expect((await page.locator('#deadline-why').textContent())?.trim()).toBe(t.deadlineWhy.elapsed(24));
      // The no-match row has no Confirm: it asks for a student instead.
      expect(await page.locator(`#confirm-${e4}`).count()).toBe(0);
      expect(await page.locator(`#pick-${e4}`).textContent()).toBe(t.pickStudent);
      await expect.poll(() => page.locator(`select#correct-to-${e4} option`).count()).toBe(4);
      await plainWordsOnly(page, lang);
      await fitsWidth(page);
      await shot(page, `flow-${width}-${lang}-1-waiting`);

      await page.click(`#confirm-${e1}`);
      await page.waitForSelector(`#answer-${e1}:text("${t.answerApplied(t.status.confirmed.toLowerCase())}")`);
      await expect.poll(() => page.locator(`#confirm-${e1}`).count()).toBe(0); // decided: its actions are gone

      // Reject asks once; "no" sends nothing.
      await page.click(`#reject-${e3}`);
      expect(await page.locator(`#ask-${e3}`).textContent()).toBe(t.rejectAsk('cecilia.docx'));
      await shot(page, `flow-${width}-${lang}-2-reject-asks`);
      await page.click(`#reject-no-${e3}`);
      await page.waitForSelector(`#reject-${e3}`);
      expect(await page.locator(`tr[data-essay="${e3}"]`).getAttribute('data-status')).toBe('pending_validation');
      await page.click(`#reject-${e3}`);
      await page.click(`#reject-yes-${e3}`);
      await page.waitForSelector(`tr[data-essay="${e3}"][data-status="rejected"]`);

      // While the batch waits, a decision can be changed: taken back, the essay waits again.
      expect(await page.locator(`#reopen-${e1}`).getAttribute('aria-label')).toBe(t.reopenLabel('astrid.docx'));
      await page.click(`#reopen-${e3}`);
      await page.waitForSelector(`tr[data-essay="${e3}"][data-status="pending_validation"] #reject-${e3}`);
      await page.waitForSelector(`#history-list:has-text("${t.history.reopened(t.who.you)}")`);
      expect(await page.locator('#history-list').innerText()).toContain(t.history.reopenedEssay('cecilia.docx'));
      await shot(page, `flow-${width}-${lang}-2b-reopened`);
      await page.click(`#reject-${e3}`);
      await page.click(`#reject-yes-${e3}`);
      await page.waitForSelector(`tr[data-essay="${e3}"][data-status="rejected"]`);

      // The no-match essay gets a student picked from the class list.
      await page.selectOption(`#correct-to-${e4}`, klass.students[1]!.student_id);
      await page.click(`#correct-${e4}`);
      await page.waitForSelector(`tr[data-essay="${e4}"][data-status="confirmed"]`);
      await page.click(`#confirm-${e2}`);
      await page.waitForSelector(`#view-batch[data-state="student_validation_completed"]`);
      expect(await page.locator('#batch-note').textContent()).toContain(t.note.settled);
      expect(await page.locator('#confirm-high, #extend').count()).toBe(0);
      // Settled: nothing can be taken back any more.
      expect(await page.locator('[id^="reopen-"]').count()).toBe(0);

      // Each history line names the essay, who decided, and what became of it.
      const history = await page.locator('#history-list').innerText();
      const name = (i: number) => `${klass.students[i]!.first_name} ${klass.students[i]!.last_name}`;
      expect(history).toContain(t.history.decided(t.who.you));
      expect(history).toContain(t.history.confirmedAs('astrid.docx', name(0)));
      expect(history).toContain(t.history.rejected('cecilia.docx'));
      expect(history).toContain(t.history.confirmedAs('david.docx', name(1)));

      // After validation the teacher may still correct an author: the rejected essay is Astrid's classmate's.
      await page.selectOption(`#amend-to-${e3}`, klass.students[2]!.student_id);
      expect(await page.locator(`#amend-${e3}`).getAttribute('aria-label')).toBe(t.amendLabel('cecilia.docx'));
      await page.click(`#amend-${e3}`);
      await page.waitForSelector(`tr[data-essay="${e3}"][data-status="confirmed"]`);
      await page.waitForSelector(`#history-list:has-text("${t.history.corrected(t.who.you)}")`);
      expect(await page.locator('#history-list').innerText()).toContain(t.history.correctedEssay('cecilia.docx', name(2)));
      await shot(page, `flow-${width}-${lang}-3b-corrected`);

      // The essays are stored: the batch is ready, and the teacher starts a pipeline.
      expect((await postEvent(harness, essaysReady(batchId, list, 'REGULAR'))).status).toBe(200);
      await page.waitForSelector('#view-batch[data-state="ready_for_pipeline_execution"] #start-pipeline');
      expect(await page.locator('#cancel').count()).toBe(1);
      await page.selectOption('#pipeline', 'cj_assessment');
      await page.click('#start-pipeline');
      await page.waitForSelector(`#batch-answers:has-text("${t.pipelineStarted(t.pipelines.cj_assessment)}")`);
      await page.waitForSelector(`#history-list:has-text("${t.history.pipeline(t.who.you, t.pipelines.cj_assessment)}")`);
      // Once a pipeline is asked for, the batch can no longer be cancelled: the button goes.
      await expect.poll(() => page.locator('#cancel').count()).toBe(0);
      // ...and the authors can no longer be corrected: downstream has read them.
      await expect.poll(() => page.locator('[id^="amend-to-"]').count()).toBe(0);
      const requested = await harness.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
      expect(
        (requested.body.history as Array<{ event_type: string; outcome: string }>).filter(
          (r) => r.event_type === TOPICS.pipelineRequest && r.outcome === 'applied',
        ),
      ).toHaveLength(1);
      await plainWordsOnly(page, lang);
      await fitsWidth(page);
      expect(await accessibilityProblems(page)).toEqual([]);
      await shot(page, `flow-${width}-${lang}-3-pipeline-started`);
      await page.close();
    });
  }

  for (const width of WIDTHS) {
    for (const lang of ['sv', 'en'] as const) {
      it(`fits ${width} px in ${lang === 'sv' ? 'Swedish' : 'English'} without sideways scrolling, plain words only, no serious axe violation`, async () => {
        const { teacher, batchId, page } = await teacherWithBatch(`teacher-look-${width}-${lang}`, width, lang);
        await signIn(page, teacher);
        await page.waitForSelector(`#view-batches tr[data-batch="${batchId}"]`);
        await plainWordsOnly(page, lang);
        await fitsWidth(page);
        expect(await accessibilityProblems(page)).toEqual([]);
        await shot(page, `look-${width}-${lang}-my-batches`);
        await openBatch(page, batchId);
        await page.waitForSelector('#associations tbody tr');
        await expect.poll(() => page.locator('#associations select option').count()).toBeGreaterThan(4);
        await plainWordsOnly(page, lang);
        await fitsWidth(page);
        expect(await accessibilityProblems(page)).toEqual([]);
        await shot(page, `look-${width}-${lang}-batch`);
        if (width < 600) {
          // A phone gets cards: each row one below the other, each cell with its column's name.
          const cells = await page
            .locator('#associations tbody tr:first-child > *')
            .evaluateAll((all) => all.map((c) => c.getBoundingClientRect()));
          expect(cells).toHaveLength(5);
          for (const [i, cell] of cells.entries()) {
            expect(cell.width, `cell ${i} of the first card`).toBeGreaterThan(300);
            if (i > 0) expect(cell.top, `cell ${i} below cell ${i - 1}`).toBeGreaterThanOrEqual(cells[i - 1]!.bottom - 1);
          }
        } else {
          // On a laptop every action button of a row is inside the window.
          const rights = await page
            .locator('#associations tbody tr:first-child button')
            .evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().right));
          for (const right of rights) expect(right).toBeLessThanOrEqual(width);
        }
        await page.close();
      });
    }
  }

  it('switches the language, keeps the choice, and writes dates in the chosen locale', async () => {
    const { teacher, batchId, page } = await teacherWithBatch('teacher-language', 1280, 'en');
    await signIn(page, teacher, `#/batches/${batchId}`);
    await page.waitForSelector('#deadline .countdown');
    expect(await page.locator('#deadline .countdown').textContent()).toMatch(/^in 1 d 0 h|^in 23 h/);
    await page.click('#language');
    await page.waitForSelector(`#batch-status:text("${sv.state['awaiting_student_validation.awaiting_teacher']}")`);
    expect(await page.locator('#deadline .countdown').textContent()).toMatch(/^om (1 d 0 tim|23 tim)/);
    // The date in Swedish, in Stockholm time: "fre 4 dec. 18:20 CET" style, a 24-hour clock.
    const title = (await page.locator('#deadline .countdown').getAttribute('title'))!;
    const due = (await page.locator('#deadline .countdown').getAttribute('data-due'))!;
    expect(title).toBe(
      new Intl.DateTimeFormat('sv-SE', {
        weekday: 'short',
        day: 'numeric',
        month: 'short',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone: 'Europe/Stockholm',
      }).format(new Date(due)),
    );
    await plainWordsOnly(page, 'sv');
    await page.reload();
    await page.waitForSelector(`#batch-status:text("${sv.state['awaiting_student_validation.awaiting_teacher']}")`);
    await page.close();
  });

  it('keeps the chart and the machine names behind "details", with legible edge labels', async () => {
    const { teacher, batchId, page } = await teacherWithBatch('teacher-details', 1280, 'en');
    await signIn(page, teacher, `#/batches/${batchId}`);
    await page.waitForSelector('#associations');
    expect(await page.locator('#batch-state, #chart-svg').count()).toBe(0);
    await page.click('#details-toggle');
    await page.waitForSelector('#chart-svg[data-rendered-state="awaiting_student_validation.awaiting_teacher"] svg');
    expect(await page.locator('#batch-state').textContent()).toBe('awaiting_student_validation.awaiting_teacher');
    expect(await page.locator('#accepted').textContent()).toContain('TEACHER_DECISIONS');
    // Edge labels at their own size: at least 12 px high on screen.
    const heights = await page
      .locator('#chart-svg .edgeLabel')
      .evaluateAll((labels) => labels.filter((l) => (l.textContent ?? '').trim() !== '').map((l) => l.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThan(5);
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(12);
    await fitsWidth(page);
    await shot(page, 'details-1280-en');
    await page.click('#details-toggle');
    await plainWordsOnly(page, 'en');
    await page.close();
  });

  for (const [width, lang] of [
    [390, 'sv'],
    [1280, 'en'],
  ] as const) {
    it(`pauses and resumes the automatic decision at ${width} px in ${lang === 'sv' ? 'Swedish' : 'English'}`, async () => {
      const t = CATALOGUE[lang];
      const before = (s: string) => s.split('\u0000')[0]!;
      const { teacher, batchId, page } = await teacherWithBatch(`teacher-pause-${lang}`, width, lang);
      await signIn(page, teacher, `#/batches/${batchId}`);
      await page.waitForSelector('#deadline');
      expect(await page.locator('#pause').getAttribute('aria-label')).toBe(t.pauseLabel);
      await page.click('#pause');
      await page.waitForSelector('#paused');
      await page.waitForSelector('#resume');
      const paused = (await harness.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.validation.paused;
      expect(paused).not.toBeNull();
      const left = duration(paused.remaining_ms, lang);
      expect(await page.locator('#paused').innerText()).toContain(t.pausedLead(left));
      // While paused: no countdown, nothing to extend or pause again.
      expect(await page.locator('#deadline, #extend, #pause').count()).toBe(0);
      await page.waitForSelector(`#history-list:has-text("${t.history.paused(t.who.you, left)}")`);
      expect(await page.locator('#view-batch').innerText()).toContain(t.pauseDone);
      await plainWordsOnly(page, lang);
      await fitsWidth(page);
      expect(await accessibilityProblems(page)).toEqual([]);
      await shot(page, `paused-${width}-${lang}`);

      await page.click('#resume');
      await page.waitForSelector('#deadline');
      await page.waitForSelector('#pause');
      expect(await page.locator('#paused, #resume').count()).toBe(0);
      await page.waitForSelector(`#history-list:has-text("${before(t.history.resumed(t.who.you, '\u0000'))}")`);
      expect(await page.locator('#view-batch').innerText()).toContain(before(t.resumeDone('\u0000')));
      const resumed = (await harness.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.validation;
      expect(resumed.paused).toBeNull();
      expect(resumed.due_at).not.toBeNull();
      await plainWordsOnly(page, lang);
      await shot(page, `resumed-${width}-${lang}`);
      await page.close();
    });
  }

  it('asks once before cancelling, shows the reason, and offers nothing on a cancelled batch', async () => {
    const t = sv;
    const { teacher, batchId, ids, page } = await teacherWithBatch('teacher-cancel', 1024, 'sv');
    await signIn(page, teacher, `#/batches/${batchId}`);
    await page.waitForSelector('#cancel');
    await page.click('#cancel');
    await page.click('#cancel-no');
    await page.waitForSelector('#cancel');
    expect(await page.locator('#view-batch').getAttribute('data-state')).toBe('awaiting_student_validation.awaiting_teacher');
    await page.click('#cancel');
    await page.fill('#cancel-reason', 'Fel uppsatser uppladdade');
    await shot(page, 'cancel-asks-1024-sv');
    await page.click('#cancel-yes');
    await page.waitForSelector('#view-batch[data-state="cancelled"]');
    expect(await page.locator('#batch-note').innerText()).toContain(t.note.cancelledReason('Fel uppsatser uppladdade'));
    await page.waitForSelector(`#history-list:has-text("${t.history.cancelReason('Fel uppsatser uppladdade')}")`);
    expect(await page.locator('#history-list').innerText()).toContain(t.history.cancelled(t.who.you));
    expect(await page.locator('#view-batch button:not(#details-toggle), #view-batch select').count()).toBe(0);
    // Nothing to decide: no "if nobody decides" or actions column, no essays "waiting for your decision".
    expect(await page.locator(`tr[data-essay="${ids[0]}"] > *`).count()).toBe(3);
    expect(await page.locator(`tr[data-essay="${ids[0]}"] .status`).textContent()).toBe(t.notDecided);
    expect(await page.locator('.summary').innerText()).not.toContain(t.waitingCount(4));
    await plainWordsOnly(page, 'sv');
    await shot(page, 'cancelled-1024-sv');
    await page.close();
  });

  it('explains the empty and error states in sentences: unknown batch, bad link, service token, guest and awaiting-content batches', async () => {
    const t = en;
    const teacher = await harness.teacher('teacher-states');
    const context = await browserAt(1280, 'en');
    const page = await newPage(context);
    // An unknown batch: one clear sentence, no "Loading…" left behind.
    await signIn(page, teacher, '#/batches/00000000-0000-4000-8000-000000000000');
    await page.waitForSelector(`#missing:text("${t.notFound}")`);
    expect(await page.locator('body').innerText()).not.toContain(t.loading);
    await shot(page, 'state-unknown-batch');
    // A malformed link: a sentence under the signed-in header, never the sign-in form.
    await page.goto(`${base}/review#/batches/not-a-batch`);
    await page.waitForSelector(`#view-nowhere:has-text("${t.badLink}")`);
    expect(await page.locator('#view-signin, #token').count()).toBe(0);
    expect(await page.locator('#who').textContent()).toBe(t.signedInAs('teacher-states'));
    await shot(page, 'state-bad-link');

    // A GUEST batch: no suggestions to wait for and no deadline buttons; it can start a pipeline.
    const guest = await registerBatch(harness, teacher, { course_code: 'ENG6', expected_essay_count: 2 });
    expect((await postEvent(harness, provisioned(guest, essays(2), 'ENG6'))).status).toBe(200);
    await page.goto(`${base}/review#/batches/${guest}`);
    await page.waitForSelector('#view-batch[data-state="ready_for_pipeline_execution"]');
    expect(await page.locator('#batch-note').innerText()).toContain(t.note.guest);
    expect(await page.locator('#extend, #confirm-high, #associations, #no-deadline, #deadline').count()).toBe(0);
    expect(await page.locator('#start-pipeline').count()).toBe(1);
    expect(await page.locator('body').innerText()).not.toMatch(/No suggestions yet/i);
    await plainWordsOnly(page, 'en');
    await shot(page, 'state-guest');

    // Awaiting content: what it waits for, and Cancel; nothing else.
    const klassBatch = await reviewBatch(harness, teacher, { suggest: false });
    const waiting = await registerBatch(harness, teacher, {
      course_code: 'ENG5',
      class_id: klassBatch.klass.classId,
      expected_essay_count: 2,
    });
    await page.goto(`${base}/review#/batches/${waiting}`);
    await page.waitForSelector('#view-batch[data-state="awaiting_content_validation"]');
    expect(await page.locator('#batch-note').innerText()).toContain(t.note.awaitingContent);
    expect(await page.locator('#view-batch button:not(#details-toggle)').evaluateAll((bs) => bs.map((b) => b.id))).toEqual(['cancel']);
    await plainWordsOnly(page, 'en');
    await shot(page, 'state-awaiting-content');
    await page.close();

    // The service token: a sentence saying what it is for, not a 403 above an empty table.
    const operator = await newPage(context);
    await operator.evaluate(() => sessionStorage.clear()).catch(() => {});
    await signIn(operator, harness.serviceToken, '#/signin');
    await operator.waitForSelector('#view-operator');
    await operator.goto(`${base}/review#/batches`);
    await operator.waitForSelector(`#view-service-only:has-text("${t.serviceOnly}")`);
    expect(await operator.locator('#error, table').count()).toBe(0);
    await shot(operator, 'state-service-token');
    await operator.close();
  });

  it('opens a deep link in a new tab signed in, and after sign-in in a new browser lands on the linked batch', async () => {
    const { teacher, batchId, context, page: first } = await teacherWithBatch('teacher-deep', 1280, 'sv');
    await signIn(first, teacher);
    await first.waitForSelector(`tr[data-batch="${batchId}"]`);
    // A new tab of the same browser session: signed in by the open tab, straight to the batch.
    const second = await newPage(context);
    await second.goto(`${base}/review#/batches/${batchId}`);
    await second.waitForSelector(`#view-batch[data-state="awaiting_student_validation.awaiting_teacher"]`);
    expect(await second.locator('#view-signin').count()).toBe(0);
    await second.close();
    await first.close();
    // A browser with no tab signed in asks for the token, then opens the linked batch, not the list.
    const fresh = await newPage(await browserAt(1280, 'sv'));
    await fresh.goto(`${base}/review#/batches/${batchId}`);
    await fresh.waitForSelector('#view-signin');
    await fresh.fill('#token', teacher);
    await fresh.click('#signin');
    await fresh.waitForSelector(`#view-batch[data-state="awaiting_student_validation.awaiting_teacher"]`);
    expect(new URL(fresh.url()).hash).toBe(`#/batches/${batchId}`);
    // The token lasts the browser session: a reload keeps the teacher signed in.
    await fresh.reload();
    await fresh.waitForSelector('#view-batch[data-state]');
    await fresh.close();
  });

  it('keeps My batches live: a new batch and a state change show without a reload', async () => {
    const t = sv;
    const teacher = await harness.teacher('teacher-live');
    const { klass } = await reviewBatch(harness, teacher, { suggest: false });
    const page = await newPage(await browserAt(390, 'sv'));
    await signIn(page, teacher);
    await page.waitForSelector('#view-batches tbody tr[data-batch]');
    await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    const fresh = await registerBatch(harness, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
    await page.waitForSelector(`tr[data-batch="${fresh}"] .state-words:text("${t.state.awaiting_content_validation}")`);
    expect((await postEvent(harness, provisioned(fresh, essays(1)))).status).toBe(200);
    await page.waitForSelector(
      `tr[data-batch="${fresh}"] .state-words:text("${t.state['awaiting_student_validation.awaiting_suggestions']}")`,
    );
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    await shot(page, 'live-390-sv');
    await page.close();
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
