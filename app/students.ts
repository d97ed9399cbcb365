import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { unknownStudentEmail } from '../machines/domain.ts';
import type { StudentInfo } from '../machines/events.ts';
import { type Db, rows } from '../db/client.ts';
import type { StudentRow } from '../db/transitions.ts';

/** Which of `ids` are students of the class. */
export async function studentsOfClass(db: Db, classId: string | null, ids: string[]): Promise<Set<string>> {
  if (classId === null || ids.length === 0) return new Set();
  const found = await rows<{ id: string }>(
    db,
    sql`SELECT id FROM students WHERE class_id = ${classId}
        AND id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`,
  );
  return new Set(found.map((r) => r.id));
}

/**
 * The class's UNKNOWN student: the existing one, or a new row for the transition to insert in its
 * own statement (so a refused timeout leaves no student behind).
 */
export async function unknownStudentFor(db: Db, classId: string): Promise<{ id: string; newStudent: StudentRow | null }> {
  const email = unknownStudentEmail(classId);
  const [existing] = await rows<{ id: string }>(
    db,
    sql`SELECT id FROM students WHERE class_id = ${classId} AND (is_unknown OR email = ${email})
        ORDER BY is_unknown DESC LIMIT 1`,
  );
  if (existing) return { id: existing.id, newStudent: null };
  const id = randomUUID();
  return {
    id,
    newStudent: { id, class_id: classId, first_name: 'UNKNOWN', last_name: 'STUDENT', email, is_unknown: true },
  };
}

/** Names and e-mails of those of `ids` that are students of the class, for the events that announce decisions. */
export async function rosterOf(db: Db, classId: string | null, ids: string[]): Promise<Record<string, StudentInfo>> {
  if (classId === null || ids.length === 0) return {};
  const found = await rows<{ id: string } & StudentInfo>(
    db,
    sql`SELECT id, first_name, last_name, email FROM students WHERE class_id = ${classId}
        AND id IN (SELECT jsonb_array_elements_text(${JSON.stringify([...new Set(ids)])}::jsonb)::uuid)`,
  );
  return Object.fromEntries(found.map(({ id, ...info }) => [id, info]));
}
