import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { allowEveryPipeline } from '../../app/credits.ts';
import { elapsedPolicy } from '../../app/deadline-policy.ts';
import { inboundRequest } from '../../app/inbound.ts';
import { databaseLookups } from '../../app/lookups.ts';
import { prepareTransitions } from '../../app/prepare.ts';
import type { EventRequest } from '../../app/requests.ts';
import { loadBatchActor } from '../../db/actor-load.ts';
import { type Db, rows } from '../../db/client.ts';
import type { TransitionWrite } from '../../db/transition-types.ts';
import { writeTransition, writeTransitions } from '../../db/transition-writers.ts';
import { InboundEnvelope } from '../../machines/events.ts';
import { asWrittenByV2, createClassWithStudents, essays, postEvent, provisioned, registerBatch, suggested } from '../support/flow.ts';
import { type Harness, harnessForSuite } from '../support/harness.ts';

/**
 * The single write (writeTransition, every event) and the set write (writeTransitions, deadline
 * bursts) of db/transition-writers.ts must leave the same rows: the burst path runs only when
 * deadlines fire, so a drift between them would first show in production timeouts. The same plans,
 * prepared by app/prepare.ts as both paths prepare them, are written each way inside a transaction
 * that is rolled back, and every table of the schema is compared, row by row, on PostgreSQL and on
 * PGlite. Only what the database draws itself differs between two transactions: sequence and
 * random-uuid columns are left out, and the transaction's now() is read as one placeholder. Which
 * columns are SQL NULL is compared besides the JSON of each row, which shows a jsonb 'null' alike.
 */

const ROLLBACK = new Error('rolled back on purpose');

/** Every row of every table in the public schema, as sorted JSON lines per table. */
async function everyRow(db: Db): Promise<Record<string, string[]>> {
  const tables = await rows<{ table_name: string }>(
    db,
    sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const columns = await rows<{ table_name: string; column_name: string; drawn: boolean }>(
    db,
    sql`SELECT table_name, column_name,
          (column_default LIKE 'nextval%' OR column_default LIKE 'gen_random_uuid%' OR is_identity = 'YES') AS drawn
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  const [clock] = await rows<{ now: string }>(db, sql`SELECT to_jsonb(now()) #>> '{}' AS now`);
  const dump: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    const own = columns.filter((c) => c.table_name === table_name);
    const skipped = new Set(own.filter((c) => c.drawn).map((c) => c.column_name));
    // to_jsonb shows SQL NULL and a jsonb 'null' alike; which columns are SQL NULL is compared too.
    const nulls = sql.join(
      own.map((c) => sql`CASE WHEN t.${sql.identifier(c.column_name)} IS NULL THEN ${c.column_name} END`),
      sql`, `,
    );
    const found = await rows<{ row: Record<string, unknown>; nulls: Array<string | null> }>(
      db,
      sql`SELECT to_jsonb(t) AS row, array_remove(ARRAY[${nulls}]::text[], NULL) AS nulls FROM ${sql.identifier(table_name)} t`,
    );
    dump[table_name] = found
      .map(({ row, nulls: sqlNulls }) =>
        JSON.stringify({
          ...Object.fromEntries(
            Object.entries(row)
              .filter(([column]) => !skipped.has(column))
              .map(([column, value]) => [column, value === clock!.now ? '<now>' : value]),
          ),
          '<sql nulls>': sqlNulls,
        }),
      )
      .sort();
  }
  return dump;
}

/** Every table's rows after `write`, in a transaction that is then rolled back. */
async function rowsAfter(db: Db, write: (tx: Db) => Promise<void>): Promise<Record<string, string[]>> {
  let dump: Record<string, string[]> | undefined;
  try {
    await db.transaction(async (tx) => {
      await write(tx as unknown as Db);
      dump = await everyRow(tx as unknown as Db);
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return dump!;
}

/** The tables whose rows differ between two dumps. */
const changedTables = (a: Record<string, string[]>, b: Record<string, string[]>) =>
  Object.keys({ ...a, ...b }).filter((t) => JSON.stringify(a[t]) !== JSON.stringify(b[t]));

async function pendingBatch(h: Harness, teacher: string) {
  const klass = await createClassWithStudents(h, teacher, 'ENG5', 3);
  const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 2 });
  const list = essays(2);
  expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
  return { klass, batchId, list };
}

for (const backend of ['postgres', 'pglite'] as const) {
  describe(`the single and the set transition writers on ${backend}`, () => {
    const h = harnessForSuite({ label: `transition_writers_${backend}`, pglite: backend === 'pglite', validationTimeoutMs: 60_000 });
    const writes: TransitionWrite[] = [];

    beforeAll(async () => {
      const teacher = await h.teacher('teacher-writers');
      const db = h.database.db;
      const requests: EventRequest[] = [];
      // Two batches past their deadline, each of its own class with no UNKNOWN student yet: the
      // timeout decides both associations, clears the deadline and creates the class's UNKNOWN student.
      for (let i = 0; i < 2; i++) {
        const { klass, batchId, list } = await pendingBatch(h, teacher);
        const matches = [
          { essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 },
          { essay: list[1]!, student_id: klass.students[1]!.student_id, score: 0.4 },
        ];
        expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
        await db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
        requests.push(validationTimeout(batchId, 1, 'sweep'));
      }
      // A batch as batch machine v2 left it, one essay decided, past its deadline: the timeout decides
      // the other and stores every record in its row, the decided one's snapshot alone.
      {
        const { klass, batchId, list } = await pendingBatch(h, teacher);
        const matches = list.map((essay, k) => ({ essay, student_id: klass.students[k]!.student_id, score: 0.9 }));
        expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
        const confirmed = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
          token: teacher,
          body: { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] },
        });
        expect(confirmed.status).toBe(200);
        await asWrittenByV2(h, batchId);
        await db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
        requests.push(validationTimeout(batchId, 1, 'sweep'));
      }
      // A batch whose suggestions arrive: new association rows and snapshots, a deadline set, a processed event.
      const { klass, batchId, list } = await pendingBatch(h, teacher);
      const envelope = InboundEnvelope.parse(
        suggested(batchId, klass.classId, [
          { essay: list[0]!, student_id: klass.students[2]!.student_id, score: 0.95 },
          { essay: list[1]! },
        ]),
      );
      requests.push(inboundRequest(envelope, { deadlines: elapsedPolicy(60_000), credits: allowEveryPipeline }));

      const at = new Date();
      for (const request of requests) {
        const actor = await loadBatchActor(db, request.batchId, request.eventId, false, request.associations);
        const [prepared] = await prepareTransitions(db, [{ request, actor: actor! }], () => () => databaseLookups(db), { now: () => at });
        if (prepared?.kind !== 'planned' || prepared.plan.kind !== 'applied') throw new Error(`${request.eventId} does not apply`);
        writes.push(prepared.plan.write);
      }
      // Every kind of association write is among them: new, changed, and a snapshot alone.
      const stored = (w: TransitionWrite) => new Set([...w.newAssociations, ...w.changedAssociations].map((a) => a.essay_id));
      expect(writes.some((w) => w.newAssociations.length > 0)).toBe(true);
      expect(writes.some((w) => w.changedAssociations.length > 0)).toBe(true);
      expect(writes.some((w) => w.associationSnapshots.some((a) => !stored(w).has(a.essay_id)))).toBe(true);
    });

    it('plans writes that touch every table a transition writes (so an empty comparison cannot pass)', async () => {
      const db = h.database.db;
      const before = await rowsAfter(db, async () => {});
      const after = await rowsAfter(db, async (tx) => {
        for (const w of writes) expect(await writeTransition(tx, w)).toBe(true);
      });
      expect(changedTables(before, after).sort()).toEqual(
        [
          'actor_snapshots',
          'batches',
          'class_students',
          'deadlines',
          'essay_student_associations',
          'history',
          'outbox',
          'processed_events',
          'students',
        ].sort(),
      );
    });

    it('leaves identical rows in every table for a set of one and the single write', async () => {
      const db = h.database.db;
      for (const w of writes) {
        const single = await rowsAfter(db, async (tx) => {
          expect(await writeTransition(tx, w)).toBe(true);
        });
        const set = await rowsAfter(db, async (tx) => {
          expect([...(await writeTransitions(tx, [w]))]).toEqual([w.batchId]);
        });
        expect(changedTables(single, set)).toEqual([]);
        expect(set).toEqual(single);
      }
    });

    it('leaves identical rows in every table for a set of several and the single writes one by one', async () => {
      const db = h.database.db;
      const single = await rowsAfter(db, async (tx) => {
        for (const w of writes) expect(await writeTransition(tx, w)).toBe(true);
      });
      const set = await rowsAfter(db, async (tx) => {
        expect([...(await writeTransitions(tx, writes))].sort()).toEqual(writes.map((w) => w.batchId).sort());
      });
      expect(changedTables(single, set)).toEqual([]);
      expect(set).toEqual(single);
    });

    it('writes nothing, either way, for a write whose row version moved', async () => {
      const db = h.database.db;
      const stale = writes.map((w) => ({ ...w, expectedVersion: w.expectedVersion - 1 }));
      const before = await rowsAfter(db, async () => {});
      const single = await rowsAfter(db, async (tx) => {
        for (const w of stale) expect(await writeTransition(tx, w)).toBe(false);
      });
      const set = await rowsAfter(db, async (tx) => {
        expect((await writeTransitions(tx, stale)).size).toBe(0);
      });
      expect(changedTables(before, single)).toEqual([]);
      expect(changedTables(before, set)).toEqual([]);
    });
  });
}
