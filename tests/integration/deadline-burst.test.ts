import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { databaseLookups } from '../../app/lookups.ts';
import { planTransition } from '../../app/plan.ts';
import { restoreBatchSnapshot } from '../../app/snapshots.ts';
import { loadBurstActors } from '../../db/burst.ts';
import { writeTransitions } from '../../db/transition-writers.ts';
import { rows } from '../../db/client.ts';
import type { TransitionWrite } from '../../db/transition-types.ts';
import { TOPICS } from '../../machines/events.ts';
import { type ClassFixture, createClassWithStudents, essays, postEvent, provisioned, registerBatch, suggested } from '../support/flow.ts';
import type { Harness } from '../support/harness.ts';
import { teacherSuite } from '../support/suite.ts';

/**
 * Deadline bursts (app/burst.ts): many due deadlines read, planned and written together, each still
 * exactly once, with its own history, outbox, association and student rows; and what the shared
 * transaction cannot settle falls back to the single-event path without holding up the others.
 */

async function pendingBatch(h: Harness, teacher: string, klass: ClassFixture) {
  const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 2 });
  const list = essays(2);
  expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
  const matches = [
    { essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 },
    { essay: list[1]!, student_id: klass.students[1]!.student_id, score: 0.4 },
  ];
  expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
  return { batchId, list };
}

/** `count` pending batches, each as pendingBatch leaves it, of one new class of the teacher's. */
async function pendingBatchesOfOneClass(h: Harness, teacher: string, count: number) {
  const klass = await createClassWithStudents(h, teacher, 'ENG5', 3);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await pendingBatch(h, teacher, klass)).batchId);
  return { klass, ids };
}

async function allPastDue(h: Harness, batchIds: string[]) {
  await h.database.db.execute(
    sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id::text IN (SELECT jsonb_array_elements_text(${JSON.stringify(batchIds)}::jsonb))`,
  );
}

/** The facts of a pendingBatch once its deadline applied, once: the 0.9 suggestion kept, the 0.4 one no match. */
const DECIDED_BY_DEADLINE = { applied: 1, deadlines: 0, confirmed: 1, updated: 2, statuses: ['timeout_confirmed', 'no_match'] };

async function facts(h: Harness, batchId: string) {
  const [row] = await rows<{ applied: number; deadlines: number; confirmed: number; updated: number; statuses: string[] }>(
    h.database.db,
    sql`SELECT
          (SELECT count(*)::int FROM history WHERE batch_id = ${batchId} AND event_type = 'VALIDATION_TIMEOUT' AND outcome = 'applied') AS applied,
          (SELECT count(*)::int FROM deadlines WHERE batch_id = ${batchId}) AS deadlines,
          (SELECT count(*)::int FROM outbox_messages WHERE batch_id = ${batchId} AND topic = ${TOPICS.associationsConfirmed}) AS confirmed,
          (SELECT count(*)::int FROM outbox_messages WHERE batch_id = ${batchId} AND topic = ${TOPICS.associationUpdated}) AS updated,
          (SELECT array_agg(validation_status ORDER BY confidence_score DESC) FROM essay_student_associations WHERE batch_id = ${batchId}) AS statuses`,
  );
  return row!;
}

async function unknownStudents(h: Harness, classId: string) {
  const [row] = await rows<{ n: number }>(
    h.database.db,
    sql`SELECT count(*)::int AS n FROM students WHERE class_id = ${classId} AND is_unknown`,
  );
  return row!.n;
}

describe('deadline bursts', () => {
  const { h, fx } = teacherSuite({ label: 'deadline_burst', validationTimeoutMs: 60_000 }, 'teacher-burst');

  it('applies every due deadline of a class once, together, making the class one UNKNOWN student', async () => {
    const { klass, ids } = await pendingBatchesOfOneClass(h, fx.teacher, 6);
    await allPastDue(h, ids);

    const fired = await h.service.fireDueDeadlines({ limit: 100, leaseMs: 60_000, burstSize: 100 });
    const mine = fired.filter((f) => ids.includes(f.batch_id));
    expect(mine.map((f) => ('outcome' in f.result ? f.result.outcome.kind : 'error'))).toEqual(ids.map(() => 'applied'));
    expect(mine.map((f) => f.path)).toEqual(ids.map(() => 'burst'));
    for (const id of ids) {
      expect(await facts(h, id)).toEqual(DECIDED_BY_DEADLINE);
    }
    expect(await unknownStudents(h, klass.classId)).toBe(1);

    // Nothing is left to claim, and a late timer job for the same deadline is the first answer again.
    expect((await h.service.fireDueDeadlines({ limit: 100, leaseMs: 60_000 })).filter((f) => ids.includes(f.batch_id))).toEqual([]);
    expect((await h.service.fireDeadline(ids[0]!, 1)).kind).toBe('duplicate');
    expect(await facts(h, ids[0]!)).toMatchObject({ applied: 1 });
  });

  it('applies each deadline exactly once when two schedulers fire the same burst at once', async () => {
    const { klass, ids } = await pendingBatchesOfOneClass(h, fx.teacher, 5);
    await allPastDue(h, ids);

    const [viaJobs, viaSweep] = await Promise.all([
      Promise.all(ids.map((id) => h.service.fireDeadline(id, 1))),
      h.service.fireDueDeadlines({ limit: 100, leaseMs: 60_000 }),
    ]);
    const sweepKinds = new Map(viaSweep.map((f) => [f.batch_id, 'outcome' in f.result ? f.result.outcome.kind : 'error']));
    for (const [i, id] of ids.entries()) {
      const kinds = [viaJobs[i]!.kind, sweepKinds.get(id) ?? 'not claimed'];
      expect(
        kinds.filter((k) => k === 'applied'),
        `${id}: ${kinds.join(', ')}`,
      ).toHaveLength(1);
      expect(await facts(h, id)).toMatchObject({ applied: 1, deadlines: 0, confirmed: 1 });
    }
    expect(await unknownStudents(h, klass.classId)).toBe(1);
  });

  it('falls back to one transaction per deadline when the shared one fails: the failing batch waits, the others are applied', async () => {
    const { ids } = await pendingBatchesOfOneClass(h, fx.teacher, 4);
    const broken = ids[1]!;
    await allPastDue(h, ids);
    // A write that fails inside the transaction, for one batch only.
    await h.database.db.execute(
      sql.raw(`CREATE FUNCTION refuse_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
          IF NEW.batch_id = '${broken}' AND NEW.event_type = 'VALIDATION_TIMEOUT' THEN RAISE EXCEPTION 'planted failure'; END IF;
          RETURN NEW; END $$;
        CREATE TRIGGER refuse_history BEFORE INSERT ON history FOR EACH ROW EXECUTE FUNCTION refuse_history();`),
    );
    try {
      const fired = await h.service.fireDueDeadlines({ limit: 100, leaseMs: 50, burstSize: 100 });
      expect(fired.filter((f) => ids.includes(f.batch_id)).map((f) => f.path)).toEqual(ids.map(() => 'single'));
      const kindOf = (id: string) => {
        const f = fired.find((x) => x.batch_id === id)!;
        return 'outcome' in f.result ? f.result.outcome.kind : String((f.result.error as Error).cause ?? f.result.error);
      };
      expect(kindOf(broken)).toMatch(/planted failure/);
      for (const id of ids.filter((x) => x !== broken)) {
        expect(kindOf(id)).toBe('applied');
        expect(await facts(h, id)).toMatchObject({ applied: 1, deadlines: 0 });
      }
      expect(await facts(h, broken)).toMatchObject({ applied: 0, deadlines: 1, statuses: ['pending_validation', 'pending_validation'] });
    } finally {
      await h.database.db.execute(sql.raw('DROP TRIGGER refuse_history ON history; DROP FUNCTION refuse_history();'));
    }
    // Its claim lapses and the next pass applies it.
    await new Promise((resolve) => setTimeout(resolve, 60));
    const retried = await h.service.fireDueDeadlines({ limit: 100, leaseMs: 60_000 });
    expect(retried.filter((f) => f.batch_id === broken).map((f) => ('outcome' in f.result ? f.result.outcome.kind : 'error'))).toEqual([
      'applied',
    ]);
    expect(await facts(h, broken)).toMatchObject({ applied: 1, deadlines: 0, confirmed: 1 });
  });

  it('writes a burst as one set statement in which a batch whose row version moved writes nothing and the others commit', async () => {
    // One class each: every write brings its class's new UNKNOWN student.
    const classes = [];
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      classes.push(await createClassWithStudents(h, fx.teacher, 'ENG5', 3));
      ids.push((await pendingBatch(h, fx.teacher, classes[i]!)).batchId);
    }
    await allPastDue(h, ids);
    const db = h.database.db;
    const at = new Date().toISOString();
    const requests = ids.map((id) => validationTimeout(id, 1, 'sweep'));
    const actors = await loadBurstActors(
      db,
      requests.map((r) => ({ batchId: r.batchId, eventId: r.eventId })),
    );
    const writes: TransitionWrite[] = [];
    for (const request of requests) {
      const actor = actors.find((a) => a.batch_id === request.batchId)!;
      const before = restoreBatchSnapshot(actor);
      const prepared = await request.build(before.context, databaseLookups(db), at);
      if (!prepared.ok) throw new Error('the timeout is due');
      const plan = planTransition({
        request,
        before,
        rowVersion: actor.version,
        event: prepared.event,
        ...(prepared.newStudents ? { newStudents: prepared.newStudents } : {}),
        at,
      });
      if (plan.kind !== 'applied') throw new Error('the timeout applies');
      writes.push(plan.write);
    }
    // Another writer commits to the middle batch after the burst read it.
    const moved = ids[1]!;
    await db.execute(sql`UPDATE actor_snapshots SET version = version + 1 WHERE actor_id = ${`batch:${moved}`}`);

    const written = await db.transaction((tx) => writeTransitions(tx as unknown as typeof db, writes));
    expect([...written].sort()).toEqual([ids[0]!, ids[2]!].sort());
    for (const id of [ids[0]!, ids[2]!]) {
      expect(await facts(h, id)).toEqual(DECIDED_BY_DEADLINE);
    }
    expect(await facts(h, moved)).toEqual({
      applied: 0,
      deadlines: 1,
      confirmed: 0,
      updated: 0,
      statuses: ['pending_validation', 'pending_validation'],
    });
    const [left] = await rows<{ states: string[] }>(
      db,
      sql`SELECT array_agg(snapshot->>'validation_status') AS states FROM essay_student_associations WHERE batch_id = ${moved}`,
    );
    expect(left!.states).toEqual(['pending_validation', 'pending_validation']);
    expect(await Promise.all(classes.map((c) => unknownStudents(h, c.classId)))).toEqual([1, 0, 1]);
  });
});
