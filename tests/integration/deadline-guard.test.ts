import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeoutEventId, validationTimeout } from '../../app/commands.ts';
import { DEADLINE_QUEUE } from '../../jobs/timers.ts';
import { startDeadlineWorker } from '../../jobs/worker.ts';
import { REDIS_URL } from '../support/env.ts';
import { type ClassFixture, createClassWithStudents, essays } from '../support/flow.ts';
import { postEvent, provisioned, registerBatch, rowCounts, suggested } from '../support/flow.ts';
import { type Harness, harnessForSuite, startHarness } from '../support/harness.ts';
import { startObservedHarness } from '../support/observed.ts';
import { eventually } from '../support/poll.ts';
import { suiteTimers } from '../support/suite-timers.ts';

/**
 * Issue 10 item 5: a deadline applies only when due (less the configured clock skew). A timer that
 * fires early, e.g. promoted by hand on the dashboard, changes nothing and waits again; the
 * dashboard is read-only unless configured otherwise.
 */

const HOUR = 3_600_000;

async function pendingBatch(h: Harness, teacher: string, klass: ClassFixture) {
  const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
  const list = essays(1);
  expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
  expect(
    (await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 }])))
      .status,
  ).toBe(200);
  return batchId;
}

describe.each([
  { label: 'PostgreSQL', pglite: false },
  { label: 'PGlite', pglite: true },
])('the deadline guard in the application layer on $label', ({ pglite }) => {
  const h = harnessForSuite({ label: 'guard', pglite, validationTimeoutMs: HOUR, deadlineClockSkewMs: 5_000 });
  let teacher: string;
  let klass: ClassFixture;
  beforeAll(async () => {
    teacher = await h.teacher('teacher-guard');
    klass = await createClassWithStudents(h, teacher);
  });

  it('a timeout an hour early is not_due and changes no row; within the skew it applies', async () => {
    const batchId = await pendingBatch(h, teacher, klass);
    const before = await rowCounts(h);
    for (const firedBy of ['bullmq', 'sweep'] as const) {
      const early = await h.service.apply(validationTimeout(batchId, 1, firedBy, h.service.deadlineClockSkewMs));
      expect(early.kind).toBe('not_due');
    }
    expect(await rowCounts(h)).toEqual(before);
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() + interval '2 seconds' WHERE batch_id = ${batchId}`);
    const inSkew = await h.service.apply(validationTimeout(batchId, 1, 'sweep', h.service.deadlineClockSkewMs));
    expect(inSkew.kind).toBe('applied');
  });
});

describe('a BullMQ deadline job promoted early', () => {
  let h: Harness;
  let worker: ReturnType<typeof startDeadlineWorker>;
  let teacher: string;
  let klass: ClassFixture;
  const bull = suiteTimers('guard', async (timers) => {
    h = await startHarness({
      label: 'guard_bullmq',
      validationTimeoutMs: HOUR,
      onDeadlineChange: timers.listener((e) => console.error(e)),
    });
    return h;
  });
  const { prefix } = bull;

  // Registered after the timers' hooks: runs after their beforeAll, and its afterAll before theirs.
  beforeAll(async () => {
    worker = startDeadlineWorker(h.service, { redisUrl: REDIS_URL, prefix });
    teacher = await h.teacher('teacher-guard');
    klass = await createClassWithStudents(h, teacher);
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('changes nothing and goes back to waiting until its deadline; promoted once due, it applies', async () => {
    const batchId = await pendingBatch(h, teacher, klass);
    const jobId = timeoutEventId(batchId, 1);
    const job = await eventually(() => bull.timers.queue.getJob(jobId));
    expect(await job.getState()).toBe('delayed');
    const before = await rowCounts(h);
    await job.promote();
    // The worker takes it, finds it not due, and delays it again to the deadline.
    await eventually(async () => {
      const again = await bull.timers.queue.getJob(jobId);
      return again && again.processedOn !== undefined && (await again.getState()) === 'delayed' ? again : null;
    });
    const again = (await bull.timers.queue.getJob(jobId))!;
    const due = Date.parse((await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.validation.due_at);
    // Scheduled for the deadline (BullMQ keeps the time to the millisecond it computed it), not for now.
    expect(Math.abs(again.timestamp + again.delay - due)).toBeLessThan(5_000);
    expect(again.attemptsMade).toBe(0);
    expect(await rowCounts(h)).toEqual(before);
    expect((await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.status).toBe('awaiting_student_validation');

    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 second' WHERE batch_id = ${batchId}`);
    await again.promote();
    await eventually(async () => {
      const b = (await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body;
      return b.status === 'student_validation_completed' ? b : null;
    });
  });
});

describe('the queue dashboard mode', () => {
  const bull = suiteTimers('guard-dash');

  /** Schedules a deadline an hour out and asks the dashboard to promote its job: the answer and the job's state after. */
  async function promoteScheduledJob(h: Harness, batchId: string) {
    await bull.timers.schedule(batchId, 1, new Date(Date.now() + HOUR).toISOString());
    const id = timeoutEventId(batchId, 1);
    const res = await h.api('PUT', `/admin/queues/api/queues/${DEADLINE_QUEUE}/${id}/promote`);
    return { status: res.status, state: await (await bull.timers.queue.getJob(id))!.getState() };
  }

  it('is read-only by default: promoting a job is refused and the job stays delayed', async () => {
    const { h } = await startObservedHarness({ label: 'guard_dash_ro', dashboard: { queues: [bull.timers.queue] } });
    try {
      const promoted = await promoteScheduledJob(h, '00000000-0000-4000-8000-000000000001');
      expect(promoted.status).toBe(405);
      expect(promoted.state).toBe('delayed');
      // The page loads nothing from outside the service (bull-board's own page links Google Fonts).
      const page = await h.api('GET', '/admin/queues');
      expect(page.status).toBe(200);
      expect(page.body as string).toContain('static/js/main.');
      expect(page.body as string).not.toMatch(/https?:\/\//);
      const queues = await h.api('GET', '/admin/queues/api/queues');
      expect(queues.body.queues.find((q: { name: string }) => q.name === DEADLINE_QUEUE).readOnlyMode).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('allows promoting when configured read-write', async () => {
    const { h } = await startObservedHarness({ label: 'guard_dash_rw', dashboard: { queues: [bull.timers.queue], readOnly: false } });
    try {
      const promoted = await promoteScheduledJob(h, '00000000-0000-4000-8000-000000000002');
      expect(promoted.status).toBe(204);
      expect(promoted.state).toBe('waiting');
    } finally {
      await h.close();
    }
  });
});
