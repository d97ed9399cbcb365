import { describe, expect, it } from 'vitest';
import { type WriteAttempt, type WriteErrorKind, classifyWriteError } from '../../app/write-errors.ts';

/** What each constraint a transition write can break means, as postgres.js and drizzle throw it. */

const pg = (code: string, constraint?: string) => ({ code, constraint_name: constraint });
const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: WITH snap AS …'), { cause });
const unlocked: WriteAttempt = { insertsStudents: false, locked: false };
const locked: WriteAttempt = { insertsStudents: false, locked: true };
const withStudents: WriteAttempt = { insertsStudents: true, locked: false };

const cases: Array<[string, unknown, WriteAttempt, WriteErrorKind]> = [
  ['the event id was applied concurrently', pg('23505', 'processed_events_pkey'), unlocked, 'duplicate'],
  ['… also when drizzle wraps the driver error', wrapped(pg('23505', 'processed_events_pkey')), locked, 'duplicate'],
  ['an essay is associated in another batch', pg('23505', 'essay_student_associations_essay_id_key'), unlocked, 'conflict'],
  ['another writer made the UNKNOWN student first', pg('23505', 'students_one_unknown_per_class_uq'), withStudents, 'retry'],
  ['… or holds its e-mail address', pg('23505', 'students_class_email_uq'), withStudents, 'retry'],
  ['a student conflict when the event inserts none', pg('23505', 'students_one_unknown_per_class_uq'), unlocked, 'unexpected'],
  [
    'a row it referenced vanished under an optimistic attempt',
    pg('23503', 'essay_student_associations_student_id_students_id_fk'),
    unlocked,
    'retry',
  ],
  ['… but not under the row lock', pg('23503', 'essay_student_associations_student_id_students_id_fk'), locked, 'unexpected'],
  ['another unique constraint', pg('23505', 'outbox_event_id_unique'), unlocked, 'unexpected'],
  ['a check violation', pg('23514', 'some_check'), unlocked, 'unexpected'],
  ['not a database error', new Error('socket hang up'), unlocked, 'unexpected'],
];

describe('classifyWriteError', () => {
  it.each(cases)('%s', (_name, error, attempt, expected) => {
    expect(classifyWriteError(error, attempt)).toBe(expected);
  });
});
