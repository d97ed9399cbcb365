import type { Db } from '../db/client.ts';
import { type EssayStudentName, type StudentRecord, classById, membersOf, studentNameOfEssay, studentNamesOfBatch } from '../db/roster.ts';

/** What other HuleEdu services read from the class service, answered from this service's rows. */

/**
 * The roster the NLP matcher reads (`roster_client_impl.py`): every member of the class, the
 * UNKNOWN student too once a deadline has created it, as the real class service lists it.
 * `full_legal_name` is the student's legal name when the roster gave one, else first and last name
 * (the real one always joins first and last name, leaving a trailing space for an empty last name).
 */
export async function matcherRoster(db: Db, classId: string) {
  if (!(await classById(db, classId))) return null;
  return (await membersOf(db, classId)).map(matcherEntry);
}

function matcherEntry(s: StudentRecord) {
  return {
    student_id: s.id,
    first_name: s.first_name,
    last_name: s.last_name,
    full_legal_name: s.legal_full_name ?? [s.first_name, s.last_name].filter((part) => part !== '').join(' '),
    email: s.email,
  };
}

/** `student_person_name` as the real internal routes answer it (PersonNameV1). */
function nameItem(row: EssayStudentName) {
  return {
    essay_id: row.essay_id,
    student_id: row.student_id,
    student_person_name: { first_name: row.first_name, last_name: row.last_name, legal_full_name: row.legal_full_name },
  };
}

/** Every essay of the batch linked to a student (confirmed, timed out, or its UNKNOWN student). */
export async function batchStudentNames(db: Db, batchId: string) {
  return (await studentNamesOfBatch(db, batchId)).map(nameItem);
}

export async function essayStudent(db: Db, essayId: string) {
  const row = await studentNameOfEssay(db, essayId);
  return row ? nameItem(row) : null;
}
