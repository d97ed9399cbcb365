import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { type Db, all, rows } from './client.ts';
import { classStudents, classes, outbox, processedEvents, students } from './schema.ts';
import type { OutboxMessage } from './transition-types.ts';

/** The class and student rows, their memberships, and the reads the class-service doors answer from. */

export type ClassRecord = typeof classes.$inferSelect;
export type StudentRecord = typeof students.$inferSelect;
export type NewClassRecord = Pick<ClassRecord, 'id' | 'owner_id' | 'name' | 'course_code' | 'course_codes'>;
export type NewStudentRecord = Pick<
  StudentRecord,
  'id' | 'class_id' | 'first_name' | 'last_name' | 'legal_full_name' | 'email' | 'created_by_user_id'
>;

export async function classById(db: Db, classId: string): Promise<ClassRecord | null> {
  const [row] = await all(db, db.select().from(classes).where(eq(classes.id, classId)));
  return row ?? null;
}

/** The class's members (the UNKNOWN student too, once a deadline created it), by last name. */
export async function membersOf(db: Db, classId: string): Promise<StudentRecord[]> {
  return rows<StudentRecord>(
    db,
    sql`SELECT s.* FROM class_students m JOIN students s ON s.id = m.student_id
        WHERE m.class_id = ${classId} ORDER BY s.last_name, s.first_name, s.id`,
  );
}

export async function studentById(db: Db, studentId: string): Promise<StudentRecord | null> {
  const [row] = await all(db, db.select().from(students).where(eq(students.id, studentId)));
  return row ?? null;
}

/** The classes a student is in. */
export async function classIdsOf(db: Db, studentId: string): Promise<string[]> {
  const found = await all(
    db,
    db
      .select({ class_id: classStudents.class_id })
      .from(classStudents)
      .where(eq(classStudents.student_id, studentId))
      .orderBy(asc(classStudents.created_at), asc(classStudents.class_id)),
  );
  return found.map((r) => r.class_id);
}

/** Which of `classIds` exist and belong to `ownerId`. */
export async function ownedClassIds(db: Db, ownerId: string, classIds: string[]): Promise<ClassRecord[]> {
  if (classIds.length === 0) return [];
  return all(
    db,
    db
      .select()
      .from(classes)
      .where(and(eq(classes.owner_id, ownerId), inArray(classes.id, classIds))),
  );
}

/** Which of `classIds` exist (whoever owns them). */
export async function existingClasses(db: Db, classIds: string[]): Promise<ClassRecord[]> {
  if (classIds.length === 0) return [];
  return all(db, db.select().from(classes).where(inArray(classes.id, classIds)));
}

export async function insertClass(db: Db, row: NewClassRecord): Promise<ClassRecord> {
  const [inserted] = await db.insert(classes).values(row).returning();
  return inserted!;
}

/** Inserts a class, or brings an existing one to these values (an event from the class service). */
export async function upsertClass(db: Db, row: NewClassRecord): Promise<void> {
  await db
    .insert(classes)
    .values(row)
    .onConflictDoUpdate({
      target: classes.id,
      set: { owner_id: row.owner_id, name: row.name, course_code: row.course_code, course_codes: row.course_codes },
    });
}

export async function updateClass(
  db: Db,
  classId: string,
  change: Partial<Pick<ClassRecord, 'name' | 'course_code' | 'course_codes'>>,
): Promise<ClassRecord | null> {
  if (Object.keys(change).length === 0) return classById(db, classId);
  const [row] = await db.update(classes).set(change).where(eq(classes.id, classId)).returning();
  return row ?? null;
}

export async function insertStudents(db: Db, list: NewStudentRecord[]): Promise<StudentRecord[]> {
  if (list.length === 0) return [];
  return db.insert(students).values(list).returning();
}

/** Inserts a student, or brings an existing one to these names and e-mail. */
export async function upsertStudent(db: Db, row: NewStudentRecord): Promise<void> {
  await db
    .insert(students)
    .values(row)
    .onConflictDoUpdate({ target: students.id, set: { first_name: row.first_name, last_name: row.last_name, email: row.email } });
}

export async function updateStudent(
  db: Db,
  studentId: string,
  change: Partial<Pick<StudentRecord, 'first_name' | 'last_name' | 'legal_full_name' | 'email'>>,
): Promise<void> {
  if (Object.keys(change).length === 0) return;
  await db.update(students).set(change).where(eq(students.id, studentId));
}

/** Adds memberships; one already there stays as it was. */
export async function addMemberships(db: Db, pairs: Array<{ class_id: string; student_id: string }>): Promise<void> {
  if (pairs.length === 0) return;
  await db.insert(classStudents).values(pairs).onConflictDoNothing();
}

export async function removeMemberships(db: Db, studentId: string, classIds: string[]): Promise<void> {
  if (classIds.length === 0) return;
  await db.delete(classStudents).where(and(eq(classStudents.student_id, studentId), inArray(classStudents.class_id, classIds)));
}

/** A class-level outbox row (no batch) holding `list`, in order; their envelopes carry the class as partition key. */
export async function insertClassOutbox(db: Db, list: OutboxMessage[]): Promise<void> {
  if (list.length === 0) return;
  await db.insert(outbox).values({ batch_id: null, messages: list });
}

/** Records an applied event id with its answer; false when it was recorded before (nothing written). */
export async function recordProcessedEvent(db: Db, eventId: string, fingerprint: string, response: unknown): Promise<boolean> {
  const inserted = await db
    .insert(processedEvents)
    .values({ event_id: eventId, batch_id: null, fingerprint, response })
    .onConflictDoNothing()
    .returning({ event_id: processedEvents.event_id });
  return inserted.length === 1;
}

export async function processedEvent(
  db: Db,
  eventId: string,
): Promise<{ batch_id: string | null; fingerprint: string | null; response: unknown } | null> {
  const [row] = await all(
    db,
    db
      .select({ batch_id: processedEvents.batch_id, fingerprint: processedEvents.fingerprint, response: processedEvents.response })
      .from(processedEvents)
      .where(eq(processedEvents.event_id, eventId)),
  );
  return row ?? null;
}

/** A student's name as later phases ask for it (PersonNameV1), per essay. */
export interface EssayStudentName {
  essay_id: string;
  student_id: string;
  first_name: string;
  last_name: string;
  legal_full_name: string | null;
}

/** The essays of a batch linked to a student (the real CMS's inner join), newest association first. */
export async function studentNamesOfBatch(db: Db, batchId: string): Promise<EssayStudentName[]> {
  return rows<EssayStudentName>(
    db,
    sql`SELECT a.essay_id, a.student_id, s.first_name, s.last_name, s.legal_full_name
        FROM essay_student_associations a JOIN students s ON s.id = a.student_id
        WHERE a.batch_id = ${batchId} ORDER BY a.created_at DESC, a.essay_id`,
  );
}

export async function studentNameOfEssay(db: Db, essayId: string): Promise<EssayStudentName | null> {
  const [row] = await rows<EssayStudentName>(
    db,
    sql`SELECT a.essay_id, a.student_id, s.first_name, s.last_name, s.legal_full_name
        FROM essay_student_associations a JOIN students s ON s.id = a.student_id
        WHERE a.essay_id = ${essayId}`,
  );
  return row ?? null;
}

/** The e-mails among `emails` (lower-cased) already held by a member of one of `classIds`. */
export async function emailsTakenIn(db: Db, classIds: string[], emails: string[]): Promise<string[]> {
  if (classIds.length === 0 || emails.length === 0) return [];
  const found = await all(
    db,
    db
      .selectDistinct({ email: students.email })
      .from(students)
      .innerJoin(classStudents, eq(classStudents.student_id, students.id))
      .where(and(inArray(classStudents.class_id, classIds), inArray(students.email, emails))),
  );
  return found.flatMap((r) => (r.email === null ? [] : [r.email]));
}

/** Whether the teacher may see the student: they created it, or it is in one of their classes. */
export async function studentVisibleTo(db: Db, ownerId: string, studentId: string): Promise<boolean> {
  const [row] = await rows<{ ok: boolean }>(
    db,
    sql`SELECT EXISTS (SELECT 1 FROM students s WHERE s.id = ${studentId} AND s.created_by_user_id = ${ownerId})
        OR EXISTS (SELECT 1 FROM class_students m JOIN classes c ON c.id = m.class_id WHERE m.student_id = ${studentId} AND c.owner_id = ${ownerId}) AS ok`,
  );
  return row?.ok === true;
}
