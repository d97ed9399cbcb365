import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { createSweep } from '../../jobs/sweep.ts';
import { createDeadlineTimers } from '../../jobs/timers.ts';
import { startDeadlineWorker } from '../../jobs/worker.ts';
import { REDIS_URL } from '../support/env.ts';
import { dropRedisKeys } from '../support/redis-keys.ts';
import { createClassWithStudents, essays, outboxEvents, postEvent } from '../support/flow.ts';
import { provisioned, provisionedClassBatch, registerBatch, suggested } from '../support/flow.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { eventually } from '../support/poll.ts';
import { suiteTimers } from '../support/suite-timers.ts';

type Match = { score?: number; student?: number };

/** A REGULAR batch waiting for the teacher, with one association per entry of `matches`. */
async function pendingBatch(h: Harness, teacher: string, course: string, matches: Match[]) {
  const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, teacher, { courseCode: course, count: matches.length });
  expect(provisioning.status).toBe(200);
  const suggestion = suggested(
    batchId,
    klass.classId,
    matches.map((m, i) => ({
      essay: list[i]!,
      ...(m.score === undefined ? {} : { student_id: klass.students[m.student ?? 0]!.student_id, score: m.score }),
    })),
    course,
  );
  expect((await postEvent(h, suggestion)).status).toBe(200);
  return { batchId, klass, list };
}

async function batchView(h: Harness, teacher: string, batchId: string) {
  return (await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body;
}

async function completed(h: Harness, teacher: string, batchId: string) {
  return eventually(async () => {
    const b = await batchView(h, teacher, batchId);
    return b.status === 'student_validation_completed' ? b : null;
  });
}

async function pastDue(h: Harness, batchId: string) {
  await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
}

async function appliedTimeouts(h: Harness, batchId: string) {
  return rows<{ outcome: string; detail: any }>(
    h.database.db,
    sql`SELECT outcome, detail FROM history WHERE batch_id = ${batchId} AND event_type = 'VALIDATION_TIMEOUT' ORDER BY seq`,
  );
}

describe('validation deadline with BullMQ and the sweep', () => {
  let h: Harness;
  let teacher: string;
  // After the tests: the prefix and the -short, -crash and -race queues beside it are deleted.
  const bull = suiteTimers('deadlines', async (timers) => {
    h = await startHarness({ label: 'deadlines', validationTimeoutMs: 60_000, onDeadlineChange: timers.listener((e) => console.error(e)) });
    teacher = await h.teacher('teacher-a');
    return h;
  });
  const { prefix } = bull;

  it('writes due_at with the suggestions and schedules a job keyed by batch and deadline version', async () => {
    const before = Date.now();
    const { batchId } = await pendingBatch(h, teacher, 'ENG5', [{ score: 0.9 }]);
    const view = await batchView(h, teacher, batchId);
    const due = Date.parse(view.validation.due_at);
    expect(due).toBeGreaterThanOrEqual(before + 60_000);
    expect(due).toBeLessThan(Date.now() + 60_000 + 1000);
    const job = await eventually(() => bull.timers.queue.getJob(`deadline-${batchId}-v1`));
    expect(job.data).toEqual({ batch_id: batchId, deadline_version: 1 });
    expect(await job.getState()).toBe('delayed');
  });

  /** A harness of its own whose deadlines BullMQ fires: timers and a worker (of `concurrency`) on `${prefix}-${queue}`. */
  async function firedByBullmq(queue: string, options: { label: string; validationTimeoutMs: number }, concurrency?: number) {
    const timers = createDeadlineTimers({ redisUrl: REDIS_URL, prefix: `${prefix}-${queue}` });
    const h = await startHarness({ ...options, onDeadlineChange: timers.listener(() => {}) });
    const worker = startDeadlineWorker(h.service, {
      redisUrl: REDIS_URL,
      prefix: `${prefix}-${queue}`,
      ...(concurrency ? { concurrency } : {}),
    });
    return {
      h,
      timers,
      close: async () => {
        await worker.close();
        await timers.close();
        await h.close();
      },
    };
  }

  it('fires through BullMQ on time with a short timeout, keeping confident suggestions', async () => {
    const { h: short, close } = await firedByBullmq('short', { label: 'deadline_short', validationTimeoutMs: 150 });
    try {
      const t = await short.teacher('teacher-a');
      const { batchId, klass, list } = await pendingBatch(short, t, 'ENG6', [{ score: 0.7 }, { score: 0.69 }, {}]);
      const done = await completed(short, t, batchId);
      expect(done.validation).toMatchObject({ pending: 0, timeout_confirmed: 1, no_match: 2, due_at: null });
      const timeouts = await appliedTimeouts(short, batchId);
      expect(timeouts).toHaveLength(1);
      expect(timeouts[0]).toMatchObject({ outcome: 'applied', detail: { fired_by: 'bullmq', deadline_version: 1 } });
      const assoc = (await short.api('GET', `/v1/batches/${batchId}/student-associations`, { token: t })).body.associations as any[];
      const byEssay = new Map(assoc.map((a) => [a.essay_id, a]));
      expect(byEssay.get(list[0]!.essay_id)).toMatchObject({
        validation_status: 'timeout_confirmed',
        student_id: klass.students[0]!.student_id,
        validation_method: 'timeout',
        validated_by: 'SYSTEM_TIMEOUT',
      });
      for (const e of [list[1]!, list[2]!]) {
        expect(byEssay.get(e.essay_id)).toMatchObject({
          validation_status: 'no_match',
          validation_method: 'timeout',
          validated_by: 'SYSTEM_TIMEOUT',
          student: { email: `unknown.${klass.classId}@huleedu.system` },
        });
      }
    } finally {
      await close();
    }
  });

  it('fires a deadline moved into the past in SQL through the sweep, linking one UNKNOWN student per class', async () => {
    const sweep = createSweep(h.service, { intervalMs: 1_000_000 });
    const { batchId, klass } = await pendingBatch(h, teacher, 'SV3', [{ score: 0.2 }, {}]);
    await pastDue(h, batchId);
    expect(await sweep.runOnce()).toBeGreaterThanOrEqual(1);
    const done = await completed(h, teacher, batchId);
    expect(done.validation).toMatchObject({ no_match: 2 });
    expect((await appliedTimeouts(h, batchId))[0]).toMatchObject({ detail: { fired_by: 'sweep' } });

    // A second batch of the same class reuses the UNKNOWN student.
    const second = await registerBatch(h, teacher, { course_code: 'SV3', class_id: klass.classId, expected_essay_count: 1 });
    const one = essays(1);
    await postEvent(h, provisioned(second, one, 'SV3'));
    await postEvent(h, suggested(second, klass.classId, [{ essay: one[0]! }], 'SV3'));
    await pastDue(h, second);
    await sweep.runOnce();
    await completed(h, teacher, second);
    const unknown = await rows<{ id: string; email: string; first_name: string }>(
      h.database.db,
      sql`SELECT id, email, first_name FROM students WHERE class_id = ${klass.classId} AND is_unknown`,
    );
    expect(unknown).toEqual([{ id: expect.any(String), email: `unknown.${klass.classId}@huleedu.system`, first_name: 'UNKNOWN' }]);
    const linked = await rows<{ n: number }>(
      h.database.db,
      sql`SELECT count(*)::int AS n FROM essay_student_associations WHERE student_id = ${unknown[0]!.id}`,
    );
    expect(linked[0]!.n).toBe(3);
  });

  it('creates one UNKNOWN student when two batches of a class time out at the same instant', async () => {
    for (let round = 0; round < 10; round++) {
      const first = await pendingBatch(h, teacher, 'ENG5', [{ score: 0.1 }]);
      const second = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: first.klass.classId, expected_essay_count: 1 });
      const one = essays(1);
      await postEvent(h, provisioned(second, one));
      await postEvent(h, suggested(second, first.klass.classId, [{ essay: one[0]! }]));
      // A timeout applies only once due (the deadline guard): both deadlines are moved into the past.
      await pastDue(h, first.batchId);
      await pastDue(h, second);
      const outcomes = await Promise.all([
        h.service.apply(validationTimeout(first.batchId, 1, 'sweep')),
        h.service.apply(validationTimeout(second, 1, 'bullmq')),
      ]);
      expect(outcomes.map((o) => o.kind)).toEqual(['applied', 'applied']);
      const unknown = await rows<{ id: string }>(
        h.database.db,
        sql`SELECT id FROM students WHERE class_id = ${first.klass.classId} AND is_unknown`,
      );
      expect(unknown).toHaveLength(1);
    }
  });

  it('times out three batches with different course codes independently, each event with its own course_code', async () => {
    const sweep = createSweep(h.service, { intervalMs: 1_000_000 });
    const courses = ['ENG5', 'ENG7', 'SV1'];
    const batches = [];
    for (const course of courses) batches.push({ course, ...(await pendingBatch(h, teacher, course, [{ score: 0.8 }, { score: 0.3 }])) });
    await pastDue(h, batches[1]!.batchId);
    await sweep.runOnce();
    expect((await batchView(h, teacher, batches[1]!.batchId)).status).toBe('student_validation_completed');
    expect((await batchView(h, teacher, batches[0]!.batchId)).status).toBe('awaiting_student_validation');
    expect((await batchView(h, teacher, batches[2]!.batchId)).status).toBe('awaiting_student_validation');
    await pastDue(h, batches[0]!.batchId);
    await pastDue(h, batches[2]!.batchId);
    await sweep.runOnce();
    const events = await outboxEvents(h, TOPICS.associationsConfirmed);
    for (const b of batches) {
      const mine = events.filter((e) => e.batch_id === b.batchId);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.envelope.data.course_code).toBe(b.course);
      expect(mine[0]!.envelope.data.class_id).toBe(b.klass.classId);
    }
  });

  it('publishes the full StudentAssociationsConfirmedV1 structure on timeout', async () => {
    const sweep = createSweep(h.service, { intervalMs: 1_000_000 });
    const { batchId, klass, list } = await pendingBatch(h, teacher, 'SV2', [
      { score: 0.95 },
      { score: 0.5, student: 1 },
      { score: 0.75, student: 2 },
    ]);
    const confirm = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: [{ essay_id: list[2]!.essay_id, confirmed: false }] },
    });
    expect(confirm.status).toBe(200);
    const correlationId = (await batchView(h, teacher, batchId)).correlation_id;
    await pastDue(h, batchId);
    await sweep.runOnce();
    const [event] = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId);
    const unknownId = (
      await rows<{ id: string }>(h.database.db, sql`SELECT id FROM students WHERE class_id = ${klass.classId} AND is_unknown`)
    )[0]!.id;
    expect(event!.envelope).toMatchObject({
      event_type: TOPICS.associationsConfirmed,
      correlation_id: correlationId,
      schema_version: 1,
      data: {
        batch_id: batchId,
        class_id: klass.classId,
        course_code: 'SV2',
        timeout_triggered: true,
        validation_summary: {
          total_associations: 3,
          confirmed: 0,
          rejected: 1,
          timeout_confirmed: 1,
          no_match: 1,
          human_validated: 1,
          timeout_validated: 2,
        },
      },
    });
    const byEssay = new Map((event!.envelope.data.associations as any[]).map((a) => [a.essay_id, a]));
    expect(byEssay.get(list[0]!.essay_id)).toMatchObject({
      student_id: klass.students[0]!.student_id,
      confidence_score: 0.95,
      validation_method: 'timeout',
      validated_by: 'SYSTEM_TIMEOUT',
    });
    expect(byEssay.get(list[1]!.essay_id)).toMatchObject({ student_id: unknownId, confidence_score: 0, validation_method: 'timeout' });
    expect(byEssay.get(list[2]!.essay_id)).toMatchObject({ student_id: null, validation_method: 'human', validated_by: 'teacher-a' });
    for (const a of byEssay.values()) expect(Date.parse(a.validated_at)).not.toBeNaN();
  });

  it('still fires every deadline after Redis forgets all jobs', async () => {
    // A Redis database of this test's own, so flushing it cannot touch other files' queues.
    const redisUrl = `${REDIS_URL.replace(/\/\d*$/, '')}/9`;
    const lostTimers = createDeadlineTimers({ redisUrl, prefix });
    const lost = await startHarness({ label: 'deadline_flush', validationTimeoutMs: 400, onDeadlineChange: lostTimers.listener(() => {}) });
    const redis = new Redis(redisUrl);
    const sweep = createSweep(lost.service, { intervalMs: 50 });
    try {
      const t = await lost.teacher('teacher-a');
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await pendingBatch(lost, t, 'ENG5', [{ score: 0.9 }])).batchId);
      await eventually(async () => (await lostTimers.queue.getDelayedCount()) === 3);
      await redis.flushdb();
      expect(await lostTimers.queue.getDelayedCount()).toBe(0);
      sweep.start();
      for (const id of ids) await completed(lost, t, id);
      for (const id of ids) expect((await appliedTimeouts(lost, id))[0]!.detail.fired_by).toBe('sweep');
    } finally {
      await sweep.stop();
      redis.disconnect();
      await lostTimers.close();
      await lost.close();
      await dropRedisKeys(redisUrl, prefix);
    }
  });

  it('fires a deadline whose job was never enqueued (crash between commit and enqueue)', async () => {
    // No after-commit hook: the process "died" right after COMMIT.
    const crashed = await startHarness({ label: 'deadline_crash', validationTimeoutMs: 100 });
    const worker = startDeadlineWorker(crashed.service, { redisUrl: REDIS_URL, prefix: `${prefix}-crash` });
    const sweep = createSweep(crashed.service, { intervalMs: 50 });
    try {
      const t = await crashed.teacher('teacher-a');
      const { batchId } = await pendingBatch(crashed, t, 'ENG6', [{ score: 0.9 }]);
      sweep.start();
      await completed(crashed, t, batchId);
      expect((await appliedTimeouts(crashed, batchId))[0]!.detail.fired_by).toBe('sweep');
    } finally {
      await sweep.stop();
      await worker.close();
      await crashed.close();
    }
  });

  it('never applies a deadline twice with two sweepers and a BullMQ worker racing', async () => {
    const { h: race, timers: raceTimers, close } = await firedByBullmq('race', { label: 'deadline_race', validationTimeoutMs: 60_000 }, 8);
    try {
      const t = await race.teacher('teacher-a');
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await pendingBatch(race, t, 'ENG7', [{ score: 0.9 }])).batchId);
      await race.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 minute'`);
      // Re-adding the same job ids with no delay makes BullMQ fire them too, alongside both sweeps.
      await Promise.all(ids.map((id) => raceTimers.queue.remove(`deadline-${id}-v1`)));
      await raceTimers.scheduleMany(ids.map((id) => ({ batch_id: id, version: 1, due_at: new Date(0).toISOString() })));
      const sweeps = [
        createSweep(race.service, { intervalMs: 5, batchSize: 3 }),
        createSweep(race.service, { intervalMs: 5, batchSize: 3 }),
      ];
      await Promise.all(sweeps.map((s) => s.runOnce()));
      for (const id of ids) await completed(race, t, id);
      await Promise.all(sweeps.map((s) => s.stop()));
      const applied = await rows<{ batch_id: string; n: number }>(
        race.database.db,
        sql`SELECT batch_id, count(*)::int AS n FROM history WHERE event_type = 'VALIDATION_TIMEOUT' AND outcome = 'applied' GROUP BY batch_id`,
      );
      expect(applied).toHaveLength(40);
      expect(applied.every((r) => r.n === 1)).toBe(true);
      const confirmations = (await outboxEvents(race, TOPICS.associationsConfirmed)).length;
      expect(confirmations).toBe(40);
    } finally {
      await close();
    }
  });

  it("lets exactly one of the teacher's last decision and the deadline win, 100 times over", async () => {
    const klass = await createClassWithStudents(h, teacher, 'ENG5', 1);
    const student = klass.students[0]!.student_id;
    let teacherWins = 0;
    let deadlineWins = 0;
    for (let round = 0; round < 100; round++) {
      const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
      const one = essays(1);
      await postEvent(h, provisioned(batchId, one));
      await postEvent(h, suggested(batchId, klass.classId, [{ essay: one[0]!, student_id: student, score: 0.9 }]));
      await pastDue(h, batchId);
      const [decision, timeout] = await Promise.all([
        h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
          token: teacher,
          body: { associations: [{ essay_id: one[0]!.essay_id, confirmed: true }] },
        }),
        h.service.apply(validationTimeout(batchId, 1, 'sweep')),
      ]);
      const teacherWon = decision.status === 200;
      const deadlineWon = timeout.kind === 'applied';
      expect(teacherWon !== deadlineWon).toBe(true);
      if (teacherWon) {
        teacherWins++;
        expect(timeout).toMatchObject({ kind: 'refused', late: true });
      } else {
        deadlineWins++;
        expect(decision.status).toBe(409);
      }
      const [assoc] = (await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher })).body.associations;
      expect(assoc.validation_status).toBe(teacherWon ? 'confirmed' : 'timeout_confirmed');
      const history = (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as any[];
      expect(history.filter((r) => r.outcome === 'late' || r.outcome === 'refused')).toHaveLength(1);
      expect((await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId)).toHaveLength(1);
    }
    expect(teacherWins + deadlineWins).toBe(100);
  });

  it('extends a deadline: new due_at, new job version, the old job a no-op, and an audit row', async () => {
    const { batchId } = await pendingBatch(h, teacher, 'ENG5', [{ score: 0.9 }]);
    const before = await batchView(h, teacher, batchId);
    const moved = await h.api('POST', `/v1/batches/${batchId}/deadline`, { token: teacher, body: { extend_by_ms: 3_600_000 } });
    expect(moved.status).toBe(200);
    expect(Date.parse(moved.body.due_at)).toBe(Date.parse(before.validation.due_at) + 3_600_000);
    await eventually(async () => (await bull.timers.queue.getJob(`deadline-${batchId}-v2`)) ?? null);
    await eventually(async () => (await bull.timers.queue.getJob(`deadline-${batchId}-v1`)) === undefined);

    const stale = await h.service.apply(validationTimeout(batchId, 1, 'bullmq'));
    expect(stale).toMatchObject({ kind: 'refused', late: true });
    expect((await batchView(h, teacher, batchId)).status).toBe('awaiting_student_validation');

    const history = (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as any[];
    expect(history.map((r) => [r.event_type, r.outcome])).toContainEqual(['DEADLINE_CHANGED', 'applied']);
    expect(history.map((r) => [r.event_type, r.outcome])).toContainEqual(['VALIDATION_TIMEOUT', 'late']);

    const absolute = new Date(Date.now() + 7_200_000).toISOString();
    const set = await h.api('POST', `/v1/batches/${batchId}/deadline`, { token: teacher, body: { due_at: absolute } });
    expect(set.status).toBe(200);
    expect(set.body.due_at).toBe(absolute);
    const past = await h.api('POST', `/v1/batches/${batchId}/deadline`, {
      token: teacher,
      body: { due_at: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(400);
    const other = await h.api('POST', `/v1/batches/${batchId}/deadline`, {
      token: await h.teacher('teacher-b'),
      body: { extend_by_ms: 1000 },
    });
    expect(other.status).toBe(404);
  });

  it("lists the caller's pending deadlines soonest first, with what they will decide", async () => {
    const t = await h.teacher(`teacher-deadlines-${randomBytes(3).toString('hex')}`);
    const late = await pendingBatch(h, t, 'ENG5', [{ score: 0.9 }, { score: 0.2 }]);
    const soon = await pendingBatch(h, t, 'ENG6', [{ score: 0.8 }]);
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() + interval '1 hour' WHERE batch_id = ${soon.batchId}`);
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() + interval '5 hours' WHERE batch_id = ${late.batchId}`);
    const all = await h.api('GET', '/v1/deadlines', { token: t });
    expect(all.status).toBe(200);
    expect(all.body.deadlines.map((d: any) => d.batch_id)).toEqual([soon.batchId, late.batchId]);
    expect(all.body.deadlines[1]).toMatchObject({ pending_associations: 2, will_keep_suggestion: 1, will_link_unknown_student: 1 });
    expect(all.body.pending_associations).toBe(3);
    const within = await h.api('GET', `/v1/deadlines?before=${encodeURIComponent(new Date(Date.now() + 3 * 3_600_000).toISOString())}`, {
      token: t,
    });
    expect(within.body.deadlines.map((d: any) => d.batch_id)).toEqual([soon.batchId]);
    expect((await h.api('GET', '/v1/deadlines?before=yesterday', { token: t })).status).toBe(400);
  });

  it('records a deadline that fires after the teacher finished as late, and removes its job', async () => {
    const { batchId, list } = await pendingBatch(h, teacher, 'ENG7', [{ score: 0.9 }]);
    await eventually(async () => (await bull.timers.queue.getJob(`deadline-${batchId}-v1`)) ?? null);
    await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] },
    });
    await eventually(async () => (await bull.timers.queue.getJob(`deadline-${batchId}-v1`)) === undefined);
    const version = (await batchView(h, teacher, batchId)).version;
    const late = await h.service.apply(validationTimeout(batchId, 1, 'bullmq'));
    expect(late).toMatchObject({ kind: 'refused', late: true });
    expect((await batchView(h, teacher, batchId)).version).toBe(version);
    const history = (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as any[];
    expect(history.at(-1)).toMatchObject({ event_type: 'VALIDATION_TIMEOUT', outcome: 'late', actor: 'timeout' });
  });
});

describe('validation deadline in embedded mode (PGlite, no Redis)', () => {
  it('fires deadlines from the sweep alone', async () => {
    const h = await startHarness({ label: 'deadline_pglite', pglite: true, validationTimeoutMs: 100 });
    const sweep = createSweep(h.service, { intervalMs: 50 });
    try {
      const t = await h.teacher('teacher-a');
      const { batchId } = await pendingBatch(h, t, 'SV1', [{ score: 0.9 }, { score: 0.1 }]);
      sweep.start();
      const done = await completed(h, t, batchId);
      expect(done.validation).toMatchObject({ timeout_confirmed: 1, no_match: 1 });
    } finally {
      await sweep.stop();
      await h.close();
    }
  });
});
