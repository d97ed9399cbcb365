import { ASSOCIATION_MACHINE_VERSION } from '../../machines/association.ts';
import { BATCH_MACHINE_VERSION } from '../../machines/batch.ts';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { upgradeBatchSnapshots } from '../../app/upgrade.ts';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { outboxEvents, postEvent, provisionedClassBatch, suggested } from '../support/flow.ts';
import { teacherSuite } from '../support/suite.ts';

/**
 * Batch machine v3: each association is its own row (association_snapshots), the batch snapshot
 * keeps counts, and an event about one essay reads and writes that essay's row alone.
 */
describe('association records in rows of their own', () => {
  const { h, fx } = teacherSuite({ label: 'association_rows' }, 'teacher-a');

  async function awaitingTeacher(count: number) {
    const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, fx.teacher, { count, students: count });
    expect(provisioning.status).toBe(200);
    const matches = list.map((essay, i) => ({ essay, student_id: klass.students[i]!.student_id, score: 0.9 }));
    expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
    return { batchId, list, students: klass.students };
  }

  /** The student each EssayStudentAssociationUpdatedV1 of the batch names, by essay. */
  const announcedStudents = async (batchId: string) =>
    Object.fromEntries(
      (await outboxEvents(h, TOPICS.associationUpdated))
        .filter((e) => e.batch_id === batchId)
        .map((e) => [e.envelope.data.essay_id, [e.envelope.data.first_name, e.envelope.data.student_email]]),
    );

  const decide = (batchId: string, essayId: string) =>
    h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: fx.teacher,
      body: { associations: [{ essay_id: essayId, confirmed: true }] },
    });

  const batchSnapshot = async (batchId: string) => {
    const [row] = await rows<{ snapshot: { context: Record<string, unknown> }; machine_version: number }>(
      h.database.db,
      sql`SELECT snapshot, machine_version FROM actor_snapshots WHERE actor_id = ${`batch:${batchId}`}`,
    );
    return row!;
  };
  const associationRows = (batchId: string) =>
    rows<{ essay_id: string; status: string; updated_at: string; machine_version: number }>(
      h.database.db,
      sql`SELECT essay_id, snapshot->>'validation_status' AS status, updated_at::text, machine_version
          FROM association_snapshots WHERE batch_id = ${batchId} ORDER BY essay_id`,
    );

  it("keeps no association record in the batch snapshot, and a decision rewrites only its essay's row", async () => {
    const { batchId, list } = await awaitingTeacher(3);
    const stored = await batchSnapshot(batchId);
    expect(stored.snapshot.context.associations).toEqual({});
    expect(stored.snapshot.context.association_counts).toEqual({ total: 3, pending: 3 });
    const before = await associationRows(batchId);
    expect(before.map((r) => r.status)).toEqual(['pending_validation', 'pending_validation', 'pending_validation']);

    const target = list[1]!.essay_id;
    expect((await decide(batchId, target)).status).toBe(200);
    const after = await associationRows(batchId);
    for (const [i, row] of after.entries()) {
      if (row.essay_id === target) {
        expect(row.status).toBe('confirmed');
        expect(row.updated_at).not.toBe(before[i]!.updated_at);
      } else {
        expect(row).toEqual(before[i]);
      }
    }
    expect((await batchSnapshot(batchId)).snapshot.context.association_counts).toEqual({ total: 3, pending: 2 });
  });

  it('announces every association when the last one is decided, one essay per request', async () => {
    const { batchId, list } = await awaitingTeacher(3);
    for (const essay of list) expect((await decide(batchId, essay.essay_id)).status).toBe(200);
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher });
    expect(batch.body.state).toBe('student_validation_completed');
    const [confirmed] = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId);
    const announced = confirmed!.envelope.data.associations.map((a: { essay_id: string }) => a.essay_id).sort();
    expect(announced).toEqual(list.map((e) => e.essay_id).sort());
  });

  /** The batch as a v2 process left it: every record inside the snapshot, no rows of their own. */
  async function asWrittenByV2(batchId: string) {
    await h.database.db.execute(sql`
      UPDATE actor_snapshots s SET machine_version = 2,
        snapshot = jsonb_set(s.snapshot #- '{context,association_counts}', '{context,associations}',
          (SELECT jsonb_object_agg(a.essay_id::text, a.snapshot) FROM association_snapshots a WHERE a.batch_id = ${batchId}))
      WHERE s.actor_id = ${`batch:${batchId}`}`);
    await h.database.db.execute(sql`DELETE FROM association_snapshots WHERE batch_id = ${batchId}`);
  }

  it("moves a v2 batch's records into their own rows at start, and the teacher then decides as before", async () => {
    const { batchId, list } = await awaitingTeacher(2);
    await asWrittenByV2(batchId);
    expect(await associationRows(batchId)).toEqual([]);

    expect(await upgradeBatchSnapshots(h.database.db, new Date().toISOString())).toBe(1);
    const upgraded = await batchSnapshot(batchId);
    // At start the batch is brought to the current version, through v3 (its own rows) and on; its
    // association records are brought to theirs on the way.
    expect(upgraded.machine_version).toBe(BATCH_MACHINE_VERSION);
    expect(upgraded.snapshot.context).toMatchObject({ associations: {}, association_counts: { total: 2, pending: 2 } });
    expect((await associationRows(batchId)).map((r) => [r.status, r.machine_version])).toEqual([
      ['pending_validation', ASSOCIATION_MACHINE_VERSION],
      ['pending_validation', ASSOCIATION_MACHINE_VERSION],
    ]);
    for (const essay of list) expect((await decide(batchId, essay.essay_id)).status).toBe(200);
    expect((await h.api('GET', `/v1/batches/${batchId}`, { token: fx.teacher })).body.state).toBe('student_validation_completed');
  });

  it("stores a v2 batch's records as rows on its first event when nobody upgraded it", async () => {
    const { batchId, list, students } = await awaitingTeacher(3);
    await asWrittenByV2(batchId);
    const res = await decide(batchId, list[0]!.essay_id);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ essay_id: list[0]!.essay_id, outcome: 'applied', validation_status: 'confirmed' }),
    ]);
    expect((await associationRows(batchId)).map((r) => r.status).sort()).toEqual(['confirmed', 'pending_validation', 'pending_validation']);
    expect((await batchSnapshot(batchId)).snapshot.context).toMatchObject({
      associations: {},
      association_counts: { total: 3, pending: 2 },
    });
    for (const essay of list.slice(1)) expect((await decide(batchId, essay.essay_id)).status).toBe(200);
    const [confirmed] = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId);
    expect(confirmed!.envelope.data.associations).toHaveLength(3);
    // Each decision names its suggested student, the first one read from the v2 snapshot's records.
    expect(await announcedStudents(batchId)).toEqual(
      Object.fromEntries(list.map((e, i) => [e.essay_id, [students[i]!.first_name, students[i]!.email]])),
    );
  });
});
