import type { StudentInfo } from '../machines/events.ts';
import type { SchoolCalendar } from '../machines/school-calendar.ts';
import { classCalendar } from '../db/class-calendars.ts';
import type { Db } from '../db/client.ts';
import type { RosterEntry } from '../db/students.ts';
import type { StudentRow } from '../db/transitions.ts';
import { deadlineDueAt } from './deadlines.ts';
import { rosterOf, studentsOfClass, unknownStudentFor } from './students.ts';

/**
 * What building a machine event may consult: reads only. A request's `build` gets this port, not
 * the database, so "may read, must not write" is a type. The single-event path answers from the
 * database (`databaseLookups`); a deadline burst answers from rows it read for the whole burst.
 */
export interface Lookups {
  /** When this version of a batch's deadline is due, or null when it is no longer pending. */
  deadlineDueAt(batchId: string, version: number): Promise<string | null>;
  /** Which of `ids` are students of the class. */
  studentsOfClass(classId: string | null, ids: string[]): Promise<Set<string>>;
  /** Names and e-mails of those of `ids` that are students of the class. */
  rosterOf(classId: string | null, ids: string[]): Promise<Record<string, StudentInfo>>;
  /** The class's UNKNOWN student, or the row the transition will insert for it. */
  unknownStudentFor(classId: string): Promise<{ id: string; newStudent: StudentRow | null }>;
  /** The class's own school calendar, or null when it counts in the service's. */
  calendarOf(classId: string): Promise<SchoolCalendar | null>;
}

export function databaseLookups(db: Db): Lookups {
  return {
    deadlineDueAt: (batchId, version) => deadlineDueAt(db, batchId, version),
    studentsOfClass: (classId, ids) => studentsOfClass(db, classId, ids),
    rosterOf: (classId, ids) => rosterOf(db, classId, ids),
    unknownStudentFor: (classId) => unknownStudentFor(db, classId),
    calendarOf: (classId) => classCalendar(db, classId),
  };
}

/**
 * The port with `rosterOf` answered from roster rows read with the snapshot, whenever the ids
 * asked for are among those the read covered (`covered`, of the batch's class); anything else
 * goes to `base`.
 */
export function withRoster(base: Lookups, classId: string | null, covered: Set<string>, roster: RosterEntry[]): Lookups {
  const byId = new Map(roster.map((r) => [r.id, r]));
  return {
    ...base,
    async rosterOf(askedClass, ids) {
      if (askedClass !== classId || !ids.every((id) => covered.has(id))) return base.rosterOf(askedClass, ids);
      const found: Record<string, StudentInfo> = {};
      for (const id of ids) {
        const s = byId.get(id);
        if (s) found[id] = { first_name: s.first_name, last_name: s.last_name, email: s.email };
      }
      return found;
    },
  };
}
