import { randomUUID } from 'node:crypto';
import { type ClassFacts, type StudentFacts, classCreatedNotification, studentAddedNotification } from '../machines/class-events.ts';
import type { CourseCode } from '../machines/domain.ts';
import type { Db } from '../db/client.ts';
import { UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import {
  type ClassRecord,
  type NewStudentRecord,
  type StudentRecord,
  addMemberships,
  classIdsOf,
  emailsTakenIn,
  insertClass,
  insertClassOutbox,
  insertStudents,
  membersOf,
  ownedClassIds,
  removeMemberships,
  studentById,
  studentVisibleTo,
  updateClass as updateClassRow,
  updateStudent as updateStudentRow,
} from '../db/roster.ts';
import type { OutboxMessage } from '../db/transition-types.ts';
import { classEnvelope } from './envelope.ts';

/** The teacher's classes and students, written with their class events and notifications in one transaction. */

export interface PersonName {
  first_name: string;
  last_name: string;
  legal_full_name?: string | null | undefined;
}

export interface NewStudent extends PersonName {
  email?: string | null | undefined;
}

const transaction = <T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> => db.transaction((tx) => work(tx as unknown as Db));

const classFacts = (c: ClassRecord): ClassFacts => ({ class_id: c.id, name: c.name, course_codes: coursesOf(c), owner_id: c.owner_id });

/** A class's courses, its first course first (rows older than several courses have only that one). */
export const coursesOf = (c: Pick<ClassRecord, 'course_code' | 'course_codes'>): CourseCode[] =>
  (c.course_codes.length > 0 ? c.course_codes : [c.course_code]) as CourseCode[];

export async function createClass(
  db: Db,
  ownerId: string,
  input: { name: string; course_codes: CourseCode[] },
  at: string,
): Promise<ClassRecord> {
  return transaction(db, async (tx) => {
    const created = await insertClass(tx, {
      id: randomUUID(),
      owner_id: ownerId,
      name: input.name,
      course_code: input.course_codes[0]!,
      course_codes: input.course_codes,
    });
    const facts = classFacts(created);
    const notification = classCreatedNotification(facts, at);
    await insertClassOutbox(tx, [
      classEnvelope(notification.type, notification.data, { class_id: created.id, owner_id: ownerId, correlation_id: randomUUID() }, at),
    ]);
    return created;
  });
}

export async function findOwnedClass(db: Db, ownerId: string, classId: string): Promise<(ClassRecord & { courses: CourseCode[] }) | null> {
  const [row] = await ownedClassIds(db, ownerId, [classId]);
  return row ? { ...row, courses: coursesOf(row) } : null;
}

export type AddStudentsOutcome =
  | { kind: 'added'; students: StudentRecord[] }
  | { kind: 'not_found'; class_ids: string[] }
  | { kind: 'conflict'; detail: string };

const normalisedEmail = (email: string | null | undefined) => (email ? email.toLowerCase() : null);

/**
 * New students, each a member of every class in `classIds` (all the teacher's), announced as the
 * real class service does: StudentCreatedV1 and `student_added_to_class` (for the first class).
 * An e-mail is unique within a class; one already there answers a conflict and adds none.
 */
export async function addStudentsToClasses(
  db: Db,
  ownerId: string,
  classIds: string[],
  input: NewStudent[],
  at: string,
): Promise<AddStudentsOutcome> {
  const wanted = [...new Set(classIds)];
  try {
    return await transaction(db, async (tx): Promise<AddStudentsOutcome> => {
      const owned = await ownedClassIds(tx, ownerId, wanted);
      const missing = wanted.filter((id) => !owned.some((c) => c.id === id));
      if (missing.length > 0) return { kind: 'not_found', class_ids: missing };
      const emails = input.flatMap((s) => normalisedEmail(s.email) ?? []);
      const taken = await emailsTakenIn(tx, wanted, emails);
      if (taken.length > 0) return { kind: 'conflict', detail: 'A student with one of these emails is already in the class.' };
      const rows: NewStudentRecord[] = input.map((s) => ({
        id: randomUUID(),
        class_id: wanted[0] ?? null,
        first_name: s.first_name,
        last_name: s.last_name,
        legal_full_name: s.legal_full_name ?? null,
        email: normalisedEmail(s.email),
        created_by_user_id: ownerId,
      }));
      const inserted = await insertStudents(tx, rows);
      await addMemberships(
        tx,
        inserted.flatMap((s) => wanted.map((class_id) => ({ class_id, student_id: s.id }))),
      );
      // As the real projector: one notification per student, about the first class it was added to.
      const first = owned.find((c) => c.id === wanted[0]);
      if (first) {
        const notify = (s: StudentRecord): OutboxMessage => {
          const facts: StudentFacts = {
            student_id: s.id,
            first_name: s.first_name,
            last_name: s.last_name,
            email: s.email,
            class_ids: wanted,
            created_by: ownerId,
          };
          const notification = studentAddedNotification(facts, { class_id: first.id, name: first.name, owner_id: first.owner_id }, at);
          return classEnvelope(
            notification.type,
            notification.data,
            { class_id: first.id, owner_id: ownerId, correlation_id: randomUUID() },
            at,
          );
        };
        await insertClassOutbox(tx, inserted.map(notify));
      }
      return { kind: 'added', students: inserted };
    });
  } catch (error) {
    if (pgErrorOf(error)?.code === UNIQUE_VIOLATION)
      return { kind: 'conflict', detail: 'A student with one of these emails is already in the class.' };
    throw error;
  }
}

export async function listStudents(db: Db, ownerId: string, classId: string): Promise<StudentRecord[] | null> {
  if (!(await findOwnedClass(db, ownerId, classId))) return null;
  return membersOf(db, classId);
}

/** A class with its members, for its owner. */
export async function getClass(db: Db, ownerId: string, classId: string) {
  const klass = await findOwnedClass(db, ownerId, classId);
  if (!klass) return null;
  return { klass, members: await membersOf(db, classId) };
}

export async function updateClass(
  db: Db,
  ownerId: string,
  classId: string,
  change: { name?: string | undefined; course_codes?: CourseCode[] | undefined },
) {
  if (!(await findOwnedClass(db, ownerId, classId))) return null;
  return updateClassRow(db, classId, {
    ...(change.name === undefined ? {} : { name: change.name }),
    ...(change.course_codes === undefined ? {} : { course_code: change.course_codes[0]!, course_codes: change.course_codes }),
  });
}

/** A student the teacher may see, with its classes. */
export async function getStudent(db: Db, ownerId: string, studentId: string) {
  if (!(await studentVisibleTo(db, ownerId, studentId))) return null;
  const student = await studentById(db, studentId);
  if (!student) return null;
  return { student, class_ids: await classIdsOf(db, studentId) };
}

export type UpdateStudentOutcome =
  | { kind: 'updated'; student: StudentRecord; class_ids: string[] }
  | { kind: 'not_found' }
  | { kind: 'class_not_found'; class_ids: string[] }
  | { kind: 'conflict'; detail: string };

/** The real UpdateStudentRequest: names, e-mail, classes to add and to remove (the teacher's). */
export async function updateStudent(
  db: Db,
  ownerId: string,
  studentId: string,
  change: {
    person_name?: PersonName | null | undefined;
    email?: string | null | undefined;
    add_class_ids?: string[] | null | undefined;
    remove_class_ids?: string[] | null | undefined;
  },
): Promise<UpdateStudentOutcome> {
  try {
    return await transaction(db, async (tx): Promise<UpdateStudentOutcome> => {
      if (!(await studentVisibleTo(tx, ownerId, studentId))) return { kind: 'not_found' };
      const touched = [...new Set([...(change.add_class_ids ?? []), ...(change.remove_class_ids ?? [])])];
      const owned = await ownedClassIds(tx, ownerId, touched);
      const missing = touched.filter((id) => !owned.some((c) => c.id === id));
      if (missing.length > 0) return { kind: 'class_not_found', class_ids: missing };
      const email = change.email === undefined ? undefined : normalisedEmail(change.email);
      const current = await classIdsOf(tx, studentId);
      const staying = [...new Set([...current, ...(change.add_class_ids ?? [])])].filter(
        (id) => !(change.remove_class_ids ?? []).includes(id),
      );
      const checkEmail = email ?? (await studentById(tx, studentId))?.email ?? null;
      if (checkEmail !== null) {
        const others = (await emailsTakenInExcept(tx, staying, checkEmail, studentId)).length > 0;
        if (others) return { kind: 'conflict', detail: 'A student with this email is already in one of these classes.' };
      }
      await updateStudentRow(tx, studentId, {
        ...(change.person_name
          ? {
              first_name: change.person_name.first_name,
              last_name: change.person_name.last_name,
              legal_full_name: change.person_name.legal_full_name ?? null,
            }
          : {}),
        ...(email === undefined ? {} : { email }),
      });
      await addMemberships(
        tx,
        (change.add_class_ids ?? []).map((class_id) => ({ class_id, student_id: studentId })),
      );
      await removeMemberships(tx, studentId, change.remove_class_ids ?? []);
      return { kind: 'updated', student: (await studentById(tx, studentId))!, class_ids: await classIdsOf(tx, studentId) };
    });
  } catch (error) {
    if (pgErrorOf(error)?.code === UNIQUE_VIOLATION)
      return { kind: 'conflict', detail: 'A student with this email is already in the class.' };
    throw error;
  }
}

async function emailsTakenInExcept(db: Db, classIds: string[], email: string, studentId: string): Promise<string[]> {
  const members = await Promise.all(classIds.map((id) => membersOf(db, id)));
  return members
    .flat()
    .filter((s) => s.id !== studentId && s.email === email)
    .map((s) => s.email!);
}
