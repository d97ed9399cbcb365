import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorNumbers } from '../../app/review-reads.ts';
import { createService } from '../../app/service.ts';
import { createHttpApp } from '../../server/app.ts';
import { createClassWithStudents, registerBatch } from '../support/flow.ts';
import type { Harness } from '../support/harness.ts';
import { type Observed, sampleValue, scrape, startObservedHarness } from '../support/observed.ts';
import { reviewBatch } from '../support/review.ts';

/** What the review page needs besides the stream: classes, the root redirect, its files, the operator numbers. */
describe('the API and files behind the review page', () => {
  let o: Observed;
  let h: Harness;
  const STUCK_AFTER_MS = 1;

  beforeAll(async () => {
    o = await startObservedHarness({
      label: 'review_api',
      sources: (harness) => ({ operatorNumbers: () => operatorNumbers(harness().database.db, STUCK_AFTER_MS) }),
      httpExtra: { review: { stuckAfterMs: STUCK_AFTER_MS } },
    });
    h = o.h;
  });
  afterAll(() => h?.close());

  it("lists the caller's classes with their student counts, and no one else's", async () => {
    const a = await h.teacher('teacher-classes-a');
    const b = await h.teacher('teacher-classes-b');
    const first = await createClassWithStudents(h, a, 'SV1', 2);
    const second = await createClassWithStudents(h, a, 'ENG7', 1);
    const mine = await h.api('GET', '/v1/classes', { token: a });
    expect(mine.status).toBe(200);
    const byId = new Map((mine.body.classes as any[]).map((c) => [c.class_id, c]));
    expect(byId.get(first.classId)).toMatchObject({ course_code: 'SV1', student_count: 2 });
    expect(byId.get(second.classId)).toMatchObject({ course_code: 'ENG7', student_count: 1 });
    expect(byId.size).toBe(2);
    expect((await h.api('GET', '/v1/classes', { token: b })).body.classes).toEqual([]);
    expect((await h.api('GET', '/v1/classes')).status).toBe(403);
    expect((await h.api('GET', '/v1/classes', { token: null })).status).toBe(401);
  });

  it('sends a browser from / to /review, and tells an API client where things are', async () => {
    const browser = await h.api('GET', '/', { token: null, headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/review');
    const client = await h.api('GET', '/', { token: null });
    expect(client.status).toBe(200);
    expect(client.body).toMatchObject({ review: '/review', docs: '/docs', openapi: '/openapi.json' });
  });

  it('serves the page, its style and its bundled script from this service alone', async () => {
    const page = await h.api('GET', '/review', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = page.body as string;
    expect(html).not.toMatch(/https?:\/\//i);
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    expect(references.filter((r) => !r.startsWith('data:'))).toEqual(['/review/review.css', '/review/app.js']);
    const script = await h.api('GET', '/review/app.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.body as string).not.toMatch(/from\s*["']/); // bundled: no import left for the browser to resolve
    expect(script.body as string).toContain('actionStarted');
    const css = await h.api('GET', '/review/review.css', { token: null });
    expect(css.body as string).not.toMatch(/url\(|@import|https?:/);
    const config = await h.api('GET', '/review/config.json', { token: null });
    expect(config.body).toEqual({ development_teachers: [], stuck_after_ms: STUCK_AFTER_MS });
  });

  it("gives the service token the operators' three numbers, the same as the gauges on /metrics", async () => {
    const teacher = await h.teacher('teacher-operator');
    expect((await h.api('GET', '/v1/operations/numbers', { token: teacher })).status).toBe(403);
    // The classes made above were announced (class notifications); a relay has published them.
    await h.database.db.execute(sql`UPDATE outbox SET published_at = now() WHERE published_at IS NULL`);
    const before = await h.api('GET', '/v1/operations/numbers');
    expect(before.status).toBe(200);
    expect(before.body).toEqual({
      deadlines_overdue: 0,
      batches_stuck: 0,
      stuck_after_ms: STUCK_AFTER_MS,
      oldest_unpublished_outbox_age_seconds: 0,
    });

    // Suggestions posted through a service whose clock is an hour behind: the deadline is long due,
    // and no sweep runs here to apply it.
    const late = createService({ db: h.database.db, validationTimeoutMs: 1000, now: () => new Date(Date.now() - 3_600_000) });
    const lateApp = createHttpApp(late, { auth: { serviceToken: h.serviceToken, jwtSecret: h.jwtSecret } });
    const { suggestion } = await reviewBatch(h, teacher, { suggest: false });
    const posted = await lateApp.request('/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.serviceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(suggestion),
    });
    expect(posted.status).toBe(200);
    // Waiting for another service: registered (no content yet), and provisioned (no suggestions yet).
    const klass = await createClassWithStudents(h, teacher, 'ENG5', 1);
    await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
    await reviewBatch(h, teacher, { suggest: false });
    await new Promise((r) => setTimeout(r, 5 * STUCK_AFTER_MS + 5));

    const after = await h.api('GET', '/v1/operations/numbers');
    expect(after.body.deadlines_overdue).toBe(1);
    expect(after.body.batches_stuck).toBe(2);
    expect(after.body.oldest_unpublished_outbox_age_seconds).toBeGreaterThan(0);
    const text = await scrape(h);
    expect(sampleValue(text, 'huleedu_deadlines_overdue')).toBe(1);
    expect(sampleValue(text, 'huleedu_batches_stuck')).toBe(2);
    expect(sampleValue(text, 'huleedu_outbox_oldest_unpublished_age_seconds')).toBeGreaterThanOrEqual(
      after.body.oldest_unpublished_outbox_age_seconds,
    );
  });
});
