import { unknownStudentEmail } from '../machines/domain.ts';
import type { StudentInfo } from '../machines/events.ts';
import type { SchoolCalendar } from '../machines/school-calendar.ts';
import { type BurstActor, studentsById, unknownStudentsOf } from '../db/burst.ts';
import { classCalendar } from '../db/class-calendars.ts';
import type { Db } from '../db/client.ts';
import { findDeadline } from '../db/deadlines.ts';
import { type RosterEntry, findUnknownStudent, rosterEntries, studentIdsInClass } from '../db/students.ts';
import type { StudentRow } from '../db/transition-types.ts';
import { unknownStudentOf } from './students.ts';

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
    async deadlineDueAt(batchId, version) {
      const row = await findDeadline(db, batchId, version);
      return row ? new Date(row.due_at).toISOString() : null;
    },
    async studentsOfClass(classId, ids) {
      if (classId === null || ids.length === 0) return new Set();
      return new Set(await studentIdsInClass(db, classId, ids));
    },
    async rosterOf(classId, ids) {
      if (classId === null || ids.length === 0) return {};
      const found = await rosterEntries(db, classId, [...new Set(ids)]);
      return Object.fromEntries(found.map(({ id, ...info }) => [id, info]));
    },
    // The existing UNKNOWN student, or a new row for the transition to insert in its own statement
    // (so a refused timeout leaves no student behind).
    unknownStudentFor: async (classId) => unknownStudentOf(classId, await findUnknownStudent(db, classId, unknownStudentEmail(classId))),
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

/** Answers a burst's builds from rows read for the whole burst: its deadline rows and students. */
export async function burstLookups(
  db: Db,
  actors: BurstActor[],
  contexts: Array<{ class_id: string | null; associations: Record<string, { suggested_student_id: string | null }> }>,
): Promise<Lookups> {
  const deadlines = new Map(actors.map((a) => [`${a.batch_id}:${a.deadline_version}`, a.deadline_due_at]));
  const classIds = [...new Set(contexts.flatMap((c) => (c.class_id === null ? [] : [c.class_id])))];
  const existingUnknown = await unknownStudentsOf(
    db,
    classIds.map((classId) => ({ classId, email: unknownStudentEmail(classId) })),
  );
  const named = contexts.flatMap((c) => Object.values(c.associations).flatMap((a) => a.suggested_student_id ?? []));
  const known = await studentsById(db, [...new Set([...named, ...existingUnknown.values()])]);
  const byId = new Map(known.map((s) => [s.id, s]));
  // A student may be in several classes: one row per membership.
  const memberships = new Set(known.map((s) => `${s.class_id}:${s.id}`));
  const unknownByClass = new Map(classIds.map((classId) => [classId, unknownStudentOf(classId, existingUnknown.get(classId) ?? null)]));
  const inClass = (classId: string | null, id: string) => classId !== null && memberships.has(`${classId}:${id}`);
  return {
    async deadlineDueAt(batchId, version) {
      const due = deadlines.get(`${batchId}:${version}`);
      return due === undefined || due === null ? null : new Date(due).toISOString();
    },
    async studentsOfClass(classId, ids) {
      return new Set(ids.filter((id) => inClass(classId, id)));
    },
    async rosterOf(classId, ids) {
      const roster: Record<string, StudentInfo> = {};
      for (const id of ids) {
        const s = byId.get(id);
        if (s && inClass(classId, id)) roster[id] = { first_name: s.first_name, last_name: s.last_name, email: s.email };
      }
      return roster;
    },
    async unknownStudentFor(classId) {
      const unknown = unknownByClass.get(classId) ?? unknownStudentOf(classId, null);
      unknownByClass.set(classId, unknown);
      return unknown;
    },
    async calendarOf() {
      // A burst only fires timeouts; a deadline is counted where suggestions arrive, never here.
      throw new Error('a deadline burst does not count new deadlines');
    },
  };
}
