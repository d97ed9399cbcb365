import { randomUUID } from 'node:crypto';
import { unknownStudentEmail } from '../machines/domain.ts';
import type { StudentRow } from '../db/transition-types.ts';

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
