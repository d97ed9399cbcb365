import { randomUUID } from 'node:crypto';
import { unknownStudentEmail } from '../machines/domain.ts';
import type { StudentInfo } from '../machines/events.ts';
import type { Db } from '../db/client.ts';
import { findUnknownStudent, rosterEntries, studentIdsInClass } from '../db/students.ts';
import type { StudentRow } from '../db/transitions.ts';

/** Which of `ids` are students of the class. */
export async function studentsOfClass(db: Db, classId: string | null, ids: string[]): Promise<Set<string>> {
  if (classId === null || ids.length === 0) return new Set();
  return new Set(await studentIdsInClass(db, classId, ids));
}

/**
 * The class's UNKNOWN student: the existing one, or a new row for the transition to insert in its
 * own statement (so a refused timeout leaves no student behind).
 */
export async function unknownStudentFor(db: Db, classId: string): Promise<{ id: string; newStudent: StudentRow | null }> {
  const email = unknownStudentEmail(classId);
  const existing = await findUnknownStudent(db, classId, email);
  return unknownStudentOf(classId, existing);
}

/** The UNKNOWN student found (its id) or, when none was, the row a transition will insert. */
export function unknownStudentOf(classId: string, existingId: string | null): { id: string; newStudent: StudentRow | null } {
  const existing = existingId === null ? null : { id: existingId };
  if (existing) return { id: existing.id, newStudent: null };
  const id = randomUUID();
  return {
    id,
    newStudent: {
      id,
      class_id: classId,
      first_name: 'UNKNOWN',
      last_name: 'STUDENT',
      email: unknownStudentEmail(classId),
      is_unknown: true,
    },
  };
}

/** Names and e-mails of those of `ids` that are students of the class, for the events that announce decisions. */
export async function rosterOf(db: Db, classId: string | null, ids: string[]): Promise<Record<string, StudentInfo>> {
  if (classId === null || ids.length === 0) return {};
  const found = await rosterEntries(db, classId, [...new Set(ids)]);
  return Object.fromEntries(found.map(({ id, ...info }) => [id, info]));
}
