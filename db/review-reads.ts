import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';

/** The review page's reads beyond the batch read model: classes, stream rows, operator numbers (shaped by app/review-reads.ts). */

export interface ClassSummaryRow {
  id: string;
  name: string;
  course_code: string;
  created_at: string;
  students: number;
}

/** The owner's classes, with how many students each has (the UNKNOWN student not counted). */
export async function classSummaries(db: Db, ownerId: string): Promise<ClassSummaryRow[]> {
  return rows<ClassSummaryRow>(
    db,
    sql`SELECT c.id, c.name, c.course_code, c.created_at,
          count(s.id) FILTER (WHERE NOT s.is_unknown)::int AS students
        FROM classes c LEFT JOIN class_students m ON m.class_id = c.id LEFT JOIN students s ON s.id = m.student_id
        WHERE c.owner_id = ${ownerId}
        GROUP BY c.id ORDER BY c.name, c.id LIMIT 1000`,
  );
}

export interface HistoryRowRead {
  seq: number;
  at: string | null;
  event_type: string;
  event_id: string | null;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  outcome: string;
  reason: string | null;
  version: number;
  detail: unknown;
}

/** History rows of one owned batch after `after`, plus its `overlap` newest rows, by seq. */
export async function historyRowsSince(
  db: Db,
  ownerId: string,
  batchId: string,
  after: number,
  overlap: number,
): Promise<HistoryRowRead[]> {
  return rows<HistoryRowRead>(
    db,
    sql`SELECT seq, at, event_type, event_id, actor, from_state, to_state, outcome, reason, version, detail
        FROM history
        WHERE batch_id = ${batchId}
          AND EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = ${batchId} AND b.owner_id = ${ownerId})
          AND (seq > ${after} OR seq IN (SELECT seq FROM history WHERE batch_id = ${batchId} ORDER BY seq DESC LIMIT ${overlap}))
        ORDER BY seq`,
  );
}

/**
 * Deadlines overdue, batches in one of `waitingStates` unchanged for longer than `stuckAfterMs`,
 * and the age in seconds of the oldest unpublished outbox row (null when none), in one round trip.
 */
export async function operatorCounts(
  db: Db,
  waitingStates: readonly string[],
  stuckAfterMs: number,
): Promise<{ overdue: number; stuck: number; oldest: number | null } | undefined> {
  const waiting = sql.join(
    waitingStates.map((s) => sql`${s}`),
    sql`, `,
  );
  const [row] = await rows<{ overdue: number; stuck: number; oldest: number | null }>(
    db,
    sql`SELECT
          (SELECT count(*) FROM deadlines WHERE due_at <= now())::int AS overdue,
          (SELECT count(*) FROM batches WHERE state IN (${waiting})
             AND updated_at < now() - ${stuckAfterMs} * interval '1 millisecond')::int AS stuck,
          (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE published_at IS NULL)::float8 AS oldest`,
  );
  return row;
}
