import { and, desc, eq, inArray, or } from 'drizzle-orm';
import { type Db, all } from './client.ts';
import { classStudents, students } from './schema.ts';

/** Reads of the class roster that transitions consult while they build their event. */

/** The ids among `ids` that are students of the class. */
export async function studentIdsInClass(db: Db, classId: string, ids: string[]): Promise<string[]> {
  const found = await all(
    db,
    db
      .select({ student_id: classStudents.student_id })
      .from(classStudents)
      .where(and(eq(classStudents.class_id, classId), inArray(classStudents.student_id, ids))),
  );
  return found.map((r) => r.student_id);
}

/** The class's UNKNOWN student, or a student already holding its address (an older release made it so). */
export async function findUnknownStudent(db: Db, classId: string, email: string): Promise<string | null> {
  const [existing] = await all(
    db,
    db
      .select({ id: students.id })
      .from(students)
      .where(and(eq(students.class_id, classId), or(eq(students.is_unknown, true), eq(students.email, email))))
      .orderBy(desc(students.is_unknown))
      .limit(1),
  );
  return existing?.id ?? null;
}

export type RosterEntry = Pick<typeof students.$inferSelect, 'id' | 'first_name' | 'last_name' | 'email'>;

/** Names and e-mails of those of `ids` that are students of the class. */
export async function rosterEntries(db: Db, classId: string, ids: string[]): Promise<RosterEntry[]> {
  return all(
    db,
    db
      .select({ id: students.id, first_name: students.first_name, last_name: students.last_name, email: students.email })
      .from(students)
      .innerJoin(classStudents, and(eq(classStudents.student_id, students.id), eq(classStudents.class_id, classId)))
      .where(inArray(students.id, ids)),
  );
}
