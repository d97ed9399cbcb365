import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { CourseCode } from '../machines/domain.ts';
import type { Db } from '../db/client.ts';
import { UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import { classes, students } from '../db/schema.ts';

export interface NewStudent {
  first_name: string;
  last_name: string;
  email: string;
}

export async function createClass(db: Db, ownerId: string, input: { name: string; course_code: CourseCode }) {
  const [row] = await db
    .insert(classes)
    .values({ id: randomUUID(), owner_id: ownerId, name: input.name, course_code: input.course_code })
    .returning();
  return row!;
}

export async function findOwnedClass(db: Db, ownerId: string, classId: string) {
  const [row] = await db
    .select()
    .from(classes)
    .where(and(eq(classes.id, classId), eq(classes.owner_id, ownerId)));
  return row ?? null;
}

export type AddStudentsOutcome =
  | { kind: 'added'; students: Array<typeof students.$inferSelect> }
  | { kind: 'not_found' }
  | { kind: 'conflict'; detail: string };

export async function addStudents(db: Db, ownerId: string, classId: string, input: NewStudent[]): Promise<AddStudentsOutcome> {
  if (!(await findOwnedClass(db, ownerId, classId))) return { kind: 'not_found' };
  try {
    const inserted = await db
      .insert(students)
      .values(input.map((s) => ({ id: randomUUID(), class_id: classId, ...s, email: s.email.toLowerCase() })))
      .returning();
    return { kind: 'added', students: inserted };
  } catch (error) {
    const pg = pgErrorOf(error);
    if (pg?.code === UNIQUE_VIOLATION) return { kind: 'conflict', detail: 'A student with one of these emails is already in the class.' };
    throw error;
  }
}

export async function listStudents(db: Db, ownerId: string, classId: string) {
  if (!(await findOwnedClass(db, ownerId, classId))) return null;
  return db.select().from(students).where(eq(students.class_id, classId)).orderBy(asc(students.last_name), asc(students.first_name));
}
