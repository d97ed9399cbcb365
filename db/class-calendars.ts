import { eq, sql } from 'drizzle-orm';
import { TOPICS } from '../machines/events.ts';
import type { DeadlineReason, SchoolCalendar } from '../machines/school-calendar.ts';
import { type Db, all, rows } from './client.ts';
import { classCalendars } from './schema.ts';

/** A class's own calendar, or null when it counts in the service's. */
export async function classCalendar(db: Db, classId: string): Promise<SchoolCalendar | null> {
  const [row] = await all(
    db,
    db.select({ calendar: classCalendars.calendar }).from(classCalendars).where(eq(classCalendars.class_id, classId)),
  );
  return (row?.calendar as SchoolCalendar | undefined) ?? null;
}

/** Sets (or replaces) a class's calendar. */
export async function storeClassCalendar(db: Db, classId: string, calendar: SchoolCalendar, by: string): Promise<void> {
  await db
    .insert(classCalendars)
    .values({ class_id: classId, calendar, updated_by: by })
    .onConflictDoUpdate({ target: classCalendars.class_id, set: { calendar, updated_by: by, updated_at: sql`now()` } });
}

/** A pending deadline of a class's batch, with when its count started and why it falls when it does. */
export interface PendingClassDeadline {
  batch_id: string;
  due_at: string;
  /** When the suggestions arrived: where the deadline's count starts. */
  started_at: string;
  /** The last reason recorded for the deadline (history), or null for one set before reasons were kept. */
  reason: DeadlineReason | null;
}

/** The pending validation deadlines of a class's batches. */
export async function pendingClassDeadlines(db: Db, classId: string): Promise<PendingClassDeadline[]> {
  return rows<PendingClassDeadline>(
    db,
    sql`SELECT d.batch_id, to_json(d.due_at)#>>'{}' AS due_at,
          (SELECT to_json(h.at)#>>'{}' FROM history h
            WHERE h.batch_id = d.batch_id AND h.event_type = ${TOPICS.authorMatchesSuggested} AND h.outcome = 'applied'
            ORDER BY h.seq DESC LIMIT 1) AS started_at,
          ${reasonOf(sql`d.batch_id`)} AS reason
        FROM deadlines d JOIN batches b ON b.batch_id = d.batch_id
        WHERE b.class_id = ${classId}
        ORDER BY d.due_at`,
  );
}

/** The latest deadline reason the history of `batchId` recorded. */
export function reasonOf(batchId: ReturnType<typeof sql>) {
  return sql`(SELECT h.detail->'deadline_reason' FROM history h
      WHERE h.batch_id = ${batchId} AND h.outcome = 'applied' AND h.detail ? 'deadline_reason'
      ORDER BY h.seq DESC LIMIT 1)`;
}
