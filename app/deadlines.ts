import { sql } from 'drizzle-orm';
import { type Db, rows } from '../db/client.ts';

export interface DueDeadline {
  batch_id: string;
  version: number;
  due_at: string;
}

/**
 * Claims up to `limit` due deadlines for `leaseMs`. SKIP LOCKED plus the lease keep concurrent
 * sweepers on different rows; the claim commits at once so no lock is held while they fire.
 */
export async function claimDueDeadlines(db: Db, limit: number, leaseMs: number): Promise<DueDeadline[]> {
  const claimed = await rows<DueDeadline>(
    db,
    sql`UPDATE deadlines d SET claimed_until = now() + ${leaseMs} * interval '1 millisecond'
        FROM (SELECT batch_id FROM deadlines
              WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) due
        WHERE d.batch_id = due.batch_id
        RETURNING d.batch_id, d.version, d.due_at`,
  );
  return claimed.map((d) => ({ ...d, due_at: new Date(d.due_at).toISOString() }));
}

/** When this version of a batch's deadline is due, or null when it is no longer pending. */
export async function deadlineDueAt(db: Db, batchId: string, version: number): Promise<string | null> {
  const [row] = await rows<{ due_at: string }>(db, sql`SELECT due_at FROM deadlines WHERE batch_id = ${batchId} AND version = ${version}`);
  return row ? new Date(row.due_at).toISOString() : null;
}

/** Every pending deadline, for re-scheduling timers after Redis lost them. */
export async function pendingDeadlines(db: Db, limit: number): Promise<DueDeadline[]> {
  const found = await rows<DueDeadline>(db, sql`SELECT batch_id, version, due_at FROM deadlines ORDER BY due_at LIMIT ${limit}`);
  return found.map((d) => ({ ...d, due_at: new Date(d.due_at).toISOString() }));
}

/** A teacher's pending deadlines before `before`, soonest first, with what they will decide. */
export async function teacherDeadlines(db: Db, ownerId: string, before: string | undefined) {
  const found = await rows<{
    batch_id: string;
    class_id: string;
    course_code: string;
    due_at: string;
    version: number;
    pending: number;
    auto_confirm: number;
    to_unknown: number;
  }>(
    db,
    sql`SELECT d.batch_id, b.class_id, b.course_code, d.due_at, d.version,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation')::int AS pending,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation' AND a.suggested_student_id IS NOT NULL
                                AND a.confidence_score >= 0.7)::int AS auto_confirm,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation' AND (a.suggested_student_id IS NULL
                                OR a.confidence_score IS NULL OR a.confidence_score < 0.7))::int AS to_unknown
        FROM deadlines d JOIN batches b ON b.batch_id = d.batch_id
        LEFT JOIN essay_student_associations a ON a.batch_id = d.batch_id
        WHERE b.owner_id = ${ownerId} ${before ? sql`AND d.due_at < ${before}::timestamptz` : sql``}
        GROUP BY d.batch_id, b.class_id, b.course_code, d.due_at, d.version
        ORDER BY d.due_at, d.batch_id
        LIMIT 1000`,
  );
  return found.map((d) => ({
    batch_id: d.batch_id,
    class_id: d.class_id,
    course_code: d.course_code,
    due_at: new Date(d.due_at).toISOString(),
    deadline_version: d.version,
    pending_associations: d.pending,
    will_keep_suggestion: d.auto_confirm,
    will_link_unknown_student: d.to_unknown,
  }));
}
