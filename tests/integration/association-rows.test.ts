import { ASSOCIATION_MACHINE_VERSION } from '../../machines/association.ts';
import { BATCH_MACHINE_VERSION } from '../../machines/batch.ts';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { upgradeBatchSnapshots } from '../../app/upgrade.ts';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { asWrittenByV2, outboxEvents, postEvent, provisionedClassBatch, suggested } from '../support/flow.ts';
import type { Harness } from '../support/harness.ts';
import { teacherSuite } from '../support/suite.ts';

/**
 * Batch machine v3: each association is its own row (essay_student_associations, its snapshot in
 * it), the batch snapshot keeps counts, and an event about one essay reads and writes that essay's
 * row alone.
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
  /**
   * The batch's association rows: the snapshot's status beside the projection's, and the row's
   * version (xmin: any write of the row, even of the same values, moves it).
   */
  const associationRows = (batchId: string) =>
    rows<{ essay_id: string; status: string | null; projected: string; written: string; machine_version: number | null }>(
      h.database.db,
      sql`SELECT essay_id, snapshot->>'validation_status' AS status, validation_status AS projected, xmin::text AS written, machine_version
          FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY essay_id`,
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
        expect([row.status, row.projected]).toEqual(['confirmed', 'confirmed']);
        expect(row.written).not.toBe(before[i]!.written);
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

  it("moves a v2 batch's records into their own rows at start, and the teacher then decides as before", async () => {
    const { batchId, list } = await awaitingTeacher(2);
    await asWrittenByV2(h, batchId);
    expect((await associationRows(batchId)).map((r) => [r.status, r.machine_version])).toEqual([
      [null, null],
      [null, null],
    ]);

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
    await asWrittenByV2(h, batchId);
    const res = await decide(batchId, list[0]!.essay_id);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      expect.objectContaining({ essay_id: list[0]!.essay_id, outcome: 'applied', validation_status: 'confirmed' }),
    ]);
    // The decided row's projection and snapshot both moved (one update of the row), the others' snapshots were stored.
    expect(
      Object.fromEntries((await associationRows(batchId)).map((r) => [r.essay_id, [r.projected, r.status, r.machine_version]])),
    ).toEqual(
      Object.fromEntries(
        list.map((e, i) => [
          e.essay_id,
          i === 0
            ? ['confirmed', 'confirmed', ASSOCIATION_MACHINE_VERSION]
            : ['pending_validation', 'pending_validation', ASSOCIATION_MACHINE_VERSION],
        ]),
      ),
    );
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

/** Runs every statement of one migration file, as the migrator does. */
async function runMigration(h: Harness, file: string) {
  const migration = readFileSync(new URL(`../../drizzle/${file}`, import.meta.url), 'utf8');
  for (const statement of migration.split('--> statement-breakpoint')) await h.database.db.execute(sql.raw(statement));
}

for (const backend of ['postgres', 'pglite'] as const) {
  describe(`association snapshots written to a table of their own, migrated on ${backend}`, () => {
    const { h, fx } = teacherSuite({ label: `association_rows_migration_${backend}`, pglite: backend === 'pglite' }, 'teacher-a');

    const storedAssociations = (batchIds: string[]) =>
      rows<{ essay_id: string; batch_id: string; machine_version: number | null; snapshot: Record<string, unknown> | null }>(
        h.database.db,
        sql`SELECT essay_id::text AS essay_id, batch_id::text AS batch_id, machine_version, snapshot FROM essay_student_associations
            WHERE batch_id::text IN (${sql.join(
              batchIds.map((b) => sql`${b}`),
              sql`, `,
            )}) ORDER BY essay_id`,
      );

    it('copies each snapshot into the association row of its essay and batch (the SQL migration), and the batch goes on from them', async () => {
      const batches = [];
      for (let i = 0; i < 3; i++) {
        const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, fx.teacher, { count: 2, students: 2 });
        expect(provisioning.status).toBe(200);
        const matches = list.map((essay, k) => ({ essay, student_id: klass.students[k]!.student_id, score: 0.9 }));
        expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
        batches.push({ batchId, list });
      }
      const [kept, stale, old] = batches as [(typeof batches)[number], (typeof batches)[number], (typeof batches)[number]];
      const confirm = (batchId: string, essayId: string) =>
        h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
          token: fx.teacher,
          body: { associations: [{ essay_id: essayId, confirmed: true }] },
        });
      // A decided essay: its snapshot is no longer the one its row was created with.
      expect((await confirm(kept.batchId, kept.list[0]!.essay_id)).status).toBe(200);
      await asWrittenByV2(h, old.batchId);
      const ids = batches.map((b) => b.batchId);
      const written = await storedAssociations(ids);
      expect(written.filter((r) => r.snapshot !== null)).toHaveLength(4);

      // As the release before the migration stored them: the snapshots in association_snapshots
      // (migration 0005), none in the association rows; one left under another batch than its row's.
      await runMigration(h, '0005_association_snapshots.sql');
      await h.database.db.execute(sql`INSERT INTO association_snapshots (essay_id, batch_id, machine_version, snapshot)
        SELECT essay_id, batch_id, machine_version, snapshot FROM essay_student_associations WHERE snapshot IS NOT NULL`);
      await h.database.db.execute(
        sql`UPDATE association_snapshots SET batch_id = ${kept.batchId} WHERE essay_id = ${stale.list[1]!.essay_id}`,
      );
      await h.database.db.execute(sql`ALTER TABLE essay_student_associations DROP COLUMN snapshot, DROP COLUMN machine_version`);

      await runMigration(h, '0013_association_snapshot_columns.sql');
      const [gone] = await rows<{ table: string | null }>(h.database.db, sql`SELECT to_regclass('association_snapshots')::text AS table`);
      expect(gone!.table).toBeNull();
      const unmatched = stale.list[1]!.essay_id;
      expect(await storedAssociations(ids)).toEqual(
        written.map((r) => (r.essay_id === unmatched ? { ...r, machine_version: null, snapshot: null } : r)),
      );
      expect(written.find((r) => r.essay_id === kept.list[0]!.essay_id)!.snapshot).toMatchObject({ validation_status: 'confirmed' });

      // The migrated batch's next decision reads the copied records: the last essay settles it and
      // the confirmation names both, the one decided before the migration as it was decided.
      expect((await confirm(kept.batchId, kept.list[1]!.essay_id)).status).toBe(200);
      expect((await h.api('GET', `/v1/batches/${kept.batchId}`, { token: fx.teacher })).body.state).toBe('student_validation_completed');
      const [confirmed] = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === kept.batchId);
      expect(
        confirmed!.envelope.data.associations
          .map((a: { essay_id: string; validation_method: string }) => [a.essay_id, a.validation_method])
          .sort(),
      ).toEqual(kept.list.map((e) => [e.essay_id, 'human']).sort());
    });
  });
}
