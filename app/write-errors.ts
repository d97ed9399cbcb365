import { FOREIGN_KEY_VIOLATION, UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';

/** What a failed transition write means for the event. */
export type WriteErrorKind =
  /** The event id was applied by a concurrent writer: answer with its first answer. */
  | 'duplicate'
  /** An essay of the event is already associated in another batch: the client's conflict. */
  | 'conflict'
  /** A concurrent writer changed what the event was built from: read again and retry. */
  | 'retry'
  /** Nothing this layer understands: let it throw. */
  | 'unexpected';

export interface WriteAttempt {
  /** The event inserts students (the class's UNKNOWN student) it did not find when it was built. */
  insertsStudents: boolean;
  /** The attempt held the snapshot's row lock, so nothing it read can have moved under it. */
  locked: boolean;
}

export function classifyWriteError(error: unknown, attempt: WriteAttempt): WriteErrorKind {
  const pg = pgErrorOf(error);
  if (pg === null) return 'unexpected';
  if (pg.code === UNIQUE_VIOLATION) {
    if (pg.constraint === 'processed_events_pkey') return 'duplicate';
    if (pg.constraint === 'essay_student_associations_essay_id_key') return 'conflict';
    // Another writer created the class's UNKNOWN student first: read it again and retry.
    if ((pg.constraint === 'students_one_unknown_per_class_uq' || pg.constraint === 'students_class_email_uq') && attempt.insertsStudents) {
      return 'retry';
    }
  }
  if (pg.code === FOREIGN_KEY_VIOLATION && !attempt.locked) return 'retry';
  return 'unexpected';
}

/** For the adapters, which reach the database only through app/: a database that is away for now. */
export { databaseUnreachable } from '../db/errors.ts';
