import { eq, inArray, sql } from 'drizzle-orm';
import { type Db, all, rows } from './client.ts';
import { classStudents, students } from './schema.ts';
import { associationsOf } from './actor-load.ts';
import { type LoadedActor, batchActorId } from './transition-types.ts';

/** The reads of a deadline burst: N actors, and the students their timeouts name, in a few queries. */

export interface BurstActor extends LoadedActor {
  batch_id: string;
  /** The batch's pending deadline row, when it has one. */
  deadline_version: number | null;
  deadline_due_at: string | null;
}

/** Every listed batch's snapshot with all its associations, owner, earlier answer to its event id and deadline row, in one query. */
export async function loadBurstActors(db: Db, wanted: Array<{ batchId: string; eventId: string }>): Promise<BurstActor[]> {
  if (wanted.length === 0) return [];
  const list = wanted.map((w) => ({ batch_id: w.batchId, actor_id: batchActorId(w.batchId), event_id: w.eventId }));
  return rows<BurstActor>(
    db,
    // The key lists let the planner probe primary keys: it expects 100 rows from any jsonb_to_recordset
    // and would otherwise scan whole tables to hash-join them.
    sql`WITH r AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(list)}::jsonb) AS r(batch_id uuid, actor_id text, event_id text))
        SELECT r.batch_id, s.snapshot, s.version, s.machine_version, b.owner_id,
          p.response AS prior_response, p.fingerprint AS prior_fingerprint,
          d.version AS deadline_version, d.due_at AS deadline_due_at, ${sql.raw(associationsOf('r.batch_id'))} AS associations
        FROM r
        JOIN batches b ON b.batch_id = r.batch_id AND b.batch_id = ANY(ARRAY(SELECT batch_id FROM r))
        JOIN actor_snapshots s ON s.actor_id = r.actor_id AND s.actor_id = ANY(ARRAY(SELECT actor_id FROM r))
        LEFT JOIN processed_events p ON p.event_id = r.event_id AND p.event_id = ANY(ARRAY(SELECT event_id FROM r))
        LEFT JOIN deadlines d ON d.batch_id = r.batch_id AND d.batch_id = ANY(ARRAY(SELECT batch_id FROM r))`,
  );
}

/** Each class's UNKNOWN student (or the student holding its address), for many classes at once. */
export async function unknownStudentsOf(db: Db, classes: Array<{ classId: string; email: string }>): Promise<Map<string, string>> {
  if (classes.length === 0) return new Map();
  const found = await rows<{ class_id: string; id: string }>(
    db,
    sql`SELECT DISTINCT ON (s.class_id) s.class_id, s.id
        FROM jsonb_to_recordset(${JSON.stringify(classes.map((c) => ({ class_id: c.classId, email: c.email })))}::jsonb)
          AS c(class_id uuid, email text)
        JOIN students s ON s.class_id = c.class_id AND (s.is_unknown OR s.email = c.email)
        ORDER BY s.class_id, s.is_unknown DESC`,
  );
  return new Map(found.map((r) => [r.class_id, r.id]));
}

export type BurstStudent = Pick<typeof students.$inferSelect, 'id' | 'class_id' | 'first_name' | 'last_name' | 'email'>;

/** The students with these ids, one row per class they are in (callers keep those of the right class). */
export async function studentsById(db: Db, ids: string[]): Promise<BurstStudent[]> {
  if (ids.length === 0) return [];
  return all(
    db,
    db
      .select({
        id: students.id,
        class_id: classStudents.class_id,
        first_name: students.first_name,
        last_name: students.last_name,
        email: students.email,
      })
      .from(students)
      .innerJoin(classStudents, eq(classStudents.student_id, students.id))
      .where(inArray(students.id, ids)),
  );
}
