import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { rows } from '../../db/client.ts';
import { createSweep } from '../../jobs/sweep.ts';
import { createDeadlineTimers } from '../../jobs/timers.ts';
import { startDeadlineWorker } from '../../jobs/worker.ts';
import { REDIS_URL } from '../support/env.ts';
import {
  createClassWithStudents,
  postEvent,
  provisionedClassBatch,
  registerBatch,
  essays,
  provisioned,
  rowCounts,
  suggested,
} from '../support/flow.ts';
import { type Harness, schoolDayOptions, startHarness } from '../support/harness.ts';
import { FRIDAY_1505 } from '../support/school-days.ts';
import { teacherSuite } from '../support/suite.ts';
import { eventually } from '../support/poll.ts';
import { suiteTimers } from '../support/suite-timers.ts';

/**
 * Pausing and resuming the validation deadline (issue 24 item 2), through the API on PostgreSQL and
 * on the embedded database: while paused no timeout fires, neither from the sweep nor from BullMQ;
 * a pause's end resumes by itself through the same durable timers; a resume sets the deadline the
 * time it had left ahead.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitingBatch(h: Harness, teacher: string, classId?: string) {
  if (classId) {
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: classId, expected_essay_count: 1 });
    const list = essays(1);
    expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
    expect((await postEvent(h, suggested(batchId, classId, [{ essay: list[0]! }]))).status).toBe(200);
    return batchId;
  }
  const { klass, batchId, list } = await provisionedClassBatch(h, teacher);
  expect((await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]! }]))).status).toBe(200);
  return batchId;
}

async function history(h: Harness, batchId: string) {
  return rows<{ event_type: string; outcome: string; actor: string; reason: string | null; detail: any }>(
    h.database.db,
    sql`SELECT event_type, outcome, actor, reason, detail FROM history WHERE batch_id = ${batchId} ORDER BY seq`,
  );
}

async function deadlineRow(h: Harness, batchId: string) {
  const [row] = await rows<{ version: number; due_at: string }>(
    h.database.db,
    sql`SELECT version, to_json(due_at)#>>'{}' AS due_at FROM deadlines WHERE batch_id = ${batchId}`,
  );
  return row ? { version: row.version, due_at: new Date(row.due_at).toISOString() } : null;
}

const expectNear = (iso: string, expected: number, slackMs = 3000) => {
  expect(Math.abs(Date.parse(iso) - expected), `${iso} vs ${new Date(expected).toISOString()}`).toBeLessThan(slackMs);
};

describe.each([
  ['PostgreSQL', false],
  ['the embedded database', true],
])('pausing the validation deadline, on %s', (_name, pglite) => {
  let h: Harness;
  let teacher: string;
  let sweep: ReturnType<typeof createSweep>;
  const TIMEOUT_MS = 60_000;

  beforeAll(async () => {
    h = await startHarness({ label: 'pause', pglite, validationTimeoutMs: TIMEOUT_MS });
    teacher = await h.teacher('teacher-pause');
    sweep = createSweep(h.service, { intervalMs: 60_000 });
  });
  afterAll(async () => {
    await h?.close();
  });

  const pause = (batchId: string, body: unknown = {}) => h.api('POST', `/v1/batches/${batchId}/deadline/pause`, { token: teacher, body });
  const resume = (batchId: string) => h.api('POST', `/v1/batches/${batchId}/deadline/resume`, { token: teacher, body: {} });
  const listed = async () => (await h.api('GET', '/v1/deadlines', { token: teacher })).body;
  const view = async (batchId: string) => (await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body;

  it('keeps the time left, fires nothing while paused (the sweep and a late timer), and resumes with what was left', async () => {
    const batchId = await waitingBatch(h, teacher);
    const due = (await deadlineRow(h, batchId))!;
    const paused = await pause(batchId, { reason: 'on sick leave' });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body).toMatchObject({ state: 'awaiting_student_validation.awaiting_teacher', due_at: null });
    expect(paused.body.paused).toMatchObject({ by: 'teacher-pause', until: null, paused_due_at: due.due_at });
    const remaining = paused.body.paused.remaining_ms as number;
    expect(remaining).toBeGreaterThan(TIMEOUT_MS - 10_000);
    expect(remaining).toBeLessThanOrEqual(TIMEOUT_MS);
    expect(await deadlineRow(h, batchId)).toBeNull();

    // GET /v1/deadlines: not a deadline while paused, but a paused validation with its time left.
    const list = await listed();
    expect(list.deadlines.map((d: any) => d.batch_id)).not.toContain(batchId);
    expect(list.paused.find((p: any) => p.batch_id === batchId)).toMatchObject({
      paused_by: 'teacher-pause',
      until: null,
      remaining_ms: remaining,
      paused_due_at: due.due_at,
      pending_associations: 1,
    });
    expect((await view(batchId)).validation).toMatchObject({ due_at: null, paused: { remaining_ms: remaining, until: null } });

    // The deadline's original time passes: the sweep has nothing to fire, and the old timer is refused.
    await sweep.runOnce();
    const race = await h.service.apply(validationTimeout(batchId, due.version, 'bullmq'));
    expect(race.kind).toBe('refused');
    expect((await view(batchId)).state).toBe('awaiting_student_validation.awaiting_teacher');
    const late = (await history(h, batchId)).at(-1)!;
    expect(late).toMatchObject({ event_type: 'VALIDATION_TIMEOUT', outcome: 'late' });
    expect(late.reason).toMatch(/paused/);

    const resumedAt = Date.now();
    const resumed = await resume(batchId);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body).toMatchObject({ paused: null, remaining_ms: remaining });
    expectNear(resumed.body.due_at, resumedAt + remaining);
    expect(await deadlineRow(h, batchId)).toEqual({ version: due.version + 1, due_at: resumed.body.due_at });
    const after = await listed();
    expect(after.paused.map((p: any) => p.batch_id)).not.toContain(batchId);
    expect(after.deadlines.find((d: any) => d.batch_id === batchId)).toMatchObject({
      due_at: resumed.body.due_at,
      why: { rule: 'resumed', by: 'teacher-pause', remaining_ms: remaining },
    });

    // The resumed deadline fires as any other.
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 second' WHERE batch_id = ${batchId}`);
    await sweep.runOnce();
    expect((await view(batchId)).state).toBe('student_validation_completed');
    const trail = (await history(h, batchId)).filter((r) => r.event_type.startsWith('VALIDATION_'));
    expect(trail.map((r) => [r.event_type, r.outcome, r.actor])).toEqual([
      ['VALIDATION_PAUSED', 'applied', 'teacher-pause'],
      ['VALIDATION_TIMEOUT', 'late', 'timeout'],
      ['VALIDATION_RESUMED', 'applied', 'teacher-pause'],
      ['VALIDATION_TIMEOUT', 'applied', 'timeout'],
    ]);
    expect(trail[0]!.detail).toMatchObject({ remaining_ms: remaining, until: null, reason: 'on sick leave', paused_by: 'teacher-pause' });
    expect(trail[2]!.detail).toMatchObject({ remaining_ms: remaining, automatic: false, to_due_at: resumed.body.due_at });
  });

  it("resumes by itself at the pause's end, through the sweep, with the time that was left counted from the end", async () => {
    const batchId = await waitingBatch(h, teacher);
    const until = new Date(Date.now() + 1500).toISOString();
    const paused = await pause(batchId, { until });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const remaining = paused.body.paused.remaining_ms as number;
    // The pause's end is the pending row, a version of its own: the timers and the sweep fire it.
    expect(await deadlineRow(h, batchId)).toEqual({ version: 2, due_at: until });
    expect((await listed()).paused.find((p: any) => p.batch_id === batchId)).toMatchObject({ until, remaining_ms: remaining });
    expect((await listed()).deadlines.map((d: any) => d.batch_id)).not.toContain(batchId);

    await sweep.runOnce();
    expect((await view(batchId)).validation.paused).not.toBeNull();
    await sleep(Date.parse(until) - Date.now() + 50);
    await sweep.runOnce();
    const v = await view(batchId);
    expect(v.state).toBe('awaiting_student_validation.awaiting_teacher');
    expect(v.validation.paused).toBeNull();
    expect(v.validation.due_at).toBe(new Date(Date.parse(until) + remaining).toISOString());
    const resumed = (await history(h, batchId)).at(-1)!;
    expect(resumed).toMatchObject({ event_type: 'VALIDATION_RESUMED', outcome: 'applied', actor: 'timeout' });
    expect(resumed.detail).toMatchObject({ automatic: true, remaining_ms: remaining, fired_by: 'sweep' });
  });

  it('answers bad input with 400 and a refused pause or resume with 409, and writes nothing', async () => {
    const batchId = await waitingBatch(h, teacher);
    const before = await rowCounts(h);
    const past = await pause(batchId, { until: new Date(Date.now() - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.headers.get('content-type')).toContain('application/problem+json');
    expect((await pause(batchId, { until: 'tomorrow' })).status).toBe(400);
    expect((await pause(batchId, { pause: true })).status).toBe(400);
    expect((await h.api('POST', `/v1/batches/${batchId}/deadline/resume`, { token: teacher, body: { now: true } })).status).toBe(400);
    const notPaused = await resume(batchId);
    expect(notPaused.status).toBe(409);
    expect(notPaused.headers.get('content-type')).toContain('application/problem+json');
    // A refusal writes its history row and nothing else.
    const after = await rowCounts(h);
    expect({ ...after, history: before.history }).toEqual(before);
    expect((await pause(batchId)).status).toBe(200);
    const again = await pause(batchId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ event: 'VALIDATION_PAUSED', state: 'awaiting_student_validation.awaiting_teacher' });
  });

  it("reminds of a running deadline, never of a pause's end", async () => {
    const running = await waitingBatch(h, teacher);
    const paused = await waitingBatch(h, teacher);
    expect((await pause(paused, { until: new Date(Date.now() + 30_000).toISOString() })).status).toBe(200);
    const reminded = (await h.service.remindDueDeadlines(TIMEOUT_MS * 2)).map((r) => r.batch_id);
    expect(reminded).toContain(running);
    expect(reminded).not.toContain(paused);
  });

  it('lets an operator pause and resume every pending validation of a class, one transition per batch', async () => {
    const klass = await createClassWithStudents(h, teacher);
    const first = await waitingBatch(h, teacher, klass.classId);
    const second = await waitingBatch(h, teacher, klass.classId);
    expect((await pause(second)).status).toBe(200);
    const url = `/v1/operations/classes/${klass.classId}/validation`;
    expect((await h.api('POST', `${url}/pause`, { token: teacher, body: { operator: 'ops' } })).status).toBe(403);
    expect((await h.api('POST', `${url}/pause`, { body: {} })).status).toBe(400);
    expect(
      (await h.api('POST', `/v1/operations/classes/${crypto.randomUUID()}/validation/pause`, { body: { operator: 'ops' } })).status,
    ).toBe(404);

    const paused = await h.api('POST', `${url}/pause`, { body: { operator: 'ops-anna', reason: 'storm' } });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.changed.map((c: any) => c.batch_id)).toEqual([first]);
    expect(paused.body.kept).toEqual([{ batch_id: second, why: 'already paused, or its deadline is already due' }]);
    expect((await history(h, first)).at(-1)).toMatchObject({ event_type: 'VALIDATION_PAUSED', actor: 'operator:ops-anna' });
    expect((await view(first)).validation.paused).toMatchObject({ by: 'operator:ops-anna' });

    const resumed = await h.api('POST', `${url}/resume`, { body: { operator: 'ops-anna' } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.changed.map((c: any) => c.batch_id).sort()).toEqual([first, second].sort());
    for (const batchId of [first, second]) expect((await view(batchId)).validation.paused).toBeNull();
  });
});

describe.each([
  ['PostgreSQL', false],
  ['the embedded database', true],
])('a paused deadline under the real BullMQ timers, on %s', (name, pglite) => {
  const bull = suiteTimers(`pause-${pglite ? 'pglite' : 'pg'}`);
  let h: Harness;
  let teacher: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const timers = createDeadlineTimers({ redisUrl: REDIS_URL, prefix: `${bull.prefix}-w` });
    h = await startHarness({ label: 'pause_bullmq', pglite, validationTimeoutMs: 2000, onDeadlineChange: timers.listener(() => {}) });
    const worker = startDeadlineWorker(h.service, { redisUrl: REDIS_URL, prefix: `${bull.prefix}-w` });
    teacher = await h.teacher('teacher-bull');
    close = async () => {
      await worker.close();
      await timers.close();
      await h.close();
    };
  });
  afterAll(async () => {
    await close?.();
  });

  const view = async (batchId: string) => (await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body;
  const events = async (batchId: string) =>
    (await history(h, batchId)).filter((r) => r.event_type.startsWith('VALIDATION_')).map((r) => [r.event_type, r.outcome, r.actor]);

  it(`does not fire while paused, then fires the time that was left after the resume (${name})`, async () => {
    const batchId = await waitingBatch(h, teacher);
    expect((await h.api('POST', `/v1/batches/${batchId}/deadline/pause`, { token: teacher, body: {} })).status).toBe(200);
    await sleep(3000);
    expect((await view(batchId)).state).toBe('awaiting_student_validation.awaiting_teacher');
    const resumedAt = Date.now();
    const resumed = await h.api('POST', `/v1/batches/${batchId}/deadline/resume`, { token: teacher, body: {} });
    expect(resumed.status).toBe(200);
    const done = await eventually(async () => {
      const v = await view(batchId);
      return v.state === 'student_validation_completed' ? Date.now() : null;
    });
    expect(done - resumedAt).toBeGreaterThanOrEqual(resumed.body.remaining_ms - 100);
    expect(await events(batchId)).toEqual([
      ['VALIDATION_PAUSED', 'applied', 'teacher-bull'],
      ['VALIDATION_RESUMED', 'applied', 'teacher-bull'],
      ['VALIDATION_TIMEOUT', 'applied', 'timeout'],
    ]);
  });

  it(`resumes at the pause's end from its BullMQ job, then decides the time left later (${name})`, async () => {
    const batchId = await waitingBatch(h, teacher);
    const until = new Date(Date.now() + 1000).toISOString();
    const paused = await h.api('POST', `/v1/batches/${batchId}/deadline/pause`, { token: teacher, body: { until } });
    expect(paused.status).toBe(200);
    const resumed = await eventually(async () => {
      const r = (await history(h, batchId)).find((row) => row.event_type === 'VALIDATION_RESUMED');
      return r ? { r, at: Date.now() } : null;
    });
    expect(resumed.r).toMatchObject({ outcome: 'applied', actor: 'timeout', detail: { automatic: true, fired_by: 'bullmq' } });
    expect((await view(batchId)).state).toBe('awaiting_student_validation.awaiting_teacher');
    await eventually(async () => (await view(batchId)).state === 'student_validation_completed');
    expect(await events(batchId)).toEqual([
      ['VALIDATION_PAUSED', 'applied', 'teacher-bull'],
      ['VALIDATION_RESUMED', 'applied', 'timeout'],
      ['VALIDATION_TIMEOUT', 'applied', 'timeout'],
    ]);
    const timeout = (await history(h, batchId)).find((r) => r.event_type === 'VALIDATION_TIMEOUT')!;
    expect(Date.parse(timeout.detail.due_at)).toBe(Date.parse(until) + paused.body.paused.remaining_ms);
  });
});

describe.each([
  ['PostgreSQL', false],
  ['the embedded database', true],
])('a paused or resumed deadline and the school calendar, on %s', (_name, pglite) => {
  // Friday 4 December 2026, 15:05 in Stockholm: the deadline is Monday 15:05, three days ahead.
  const { h, fx } = teacherSuite(schoolDayOptions('pause_calendar', pglite, FRIDAY_1505), 'teacher-pause-calendar');

  it("keeps the remainder in plain time, and a calendar change moves neither a resumed deadline nor a pause's end", async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    const resumed = await waitingBatch(h, fx.teacher, klass.classId);
    const paused = await waitingBatch(h, fx.teacher, klass.classId);
    const untouched = await waitingBatch(h, fx.teacher, klass.classId);
    const api = (batchId: string, action: string, body: unknown = {}) =>
      h.api('POST', `/v1/batches/${batchId}/deadline/${action}`, { token: fx.teacher, body });
    const p = await api(resumed, 'pause');
    expect(p.body.paused.remaining_ms).toBe(3 * 86_400_000);
    const r = await api(resumed, 'resume');
    expect(r.body.due_at).toBe('2026-12-07T14:05:00.000Z');
    const until = '2026-12-05T09:00:00.000Z';
    expect((await api(paused, 'pause', { until })).status).toBe(200);

    const calendar = {
      time_zone: 'Europe/Stockholm',
      school_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      opens: '08:00',
      closes: '16:00',
      closed: [{ from: '2026-12-07', name: 'Studiedag' }],
    };
    const changed = await h.api('PUT', `/v1/classes/${klass.classId}/calendar`, { token: fx.teacher, body: calendar });
    expect(changed.status).toBe(200);
    expect(changed.body.moved).toEqual([
      { batch_id: untouched, from_due_at: '2026-12-07T14:05:00.000Z', to_due_at: '2026-12-08T14:05:00.000Z' },
    ]);
    const kept = Object.fromEntries((changed.body.kept as Array<{ batch_id: string; why: string }>).map((k) => [k.batch_id, k.why]));
    expect(kept[resumed]).toBe('resumed by teacher-pause-calendar with the time it had left when paused; it stays');
    expect(kept[paused]).toMatch(/did not take the move/);
    const view = (await h.api('GET', `/v1/batches/${paused}`, { token: fx.teacher })).body.validation;
    expect(view).toMatchObject({ due_at: null, paused: { until } });
  });
});
