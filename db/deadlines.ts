import { and, asc, eq, sql } from 'drizzle-orm';
import { type Db, all, rows } from './client.ts';
import { deadlines } from './schema.ts';
import { reasonOf } from './class-calendars.ts';
import type { DeadlineReason } from '../machines/school-calendar.ts';

const AWAITING_TEACHER = 'awaiting_student_validation.awaiting_teacher';

/**
 * The pause of a batch, as its history has it: the latest applied pause or resume, while the batch
 * still awaits the teacher (settling or cancelling ends a pause with the validation). Null when it
 * is not paused. Read from the audit log, never from the snapshot.
 */
export function pausedOf(batchId: ReturnType<typeof sql>, state: ReturnType<typeof sql>) {
  return sql`(CASE WHEN ${state} = ${AWAITING_TEACHER} THEN (SELECT CASE WHEN h.event_type = 'VALIDATION_PAUSED' THEN
        jsonb_build_object('paused_at', to_json(h.at)#>>'{}', 'by', h.detail->'paused_by', 'until', h.detail->'until',
          'remaining_ms', h.detail->'remaining_ms', 'paused_due_at', h.detail->'paused_due_at',
          'resume_deadline_version', h.detail->'resume_deadline_version', 'reason', h.detail->'reason') END
      FROM history h WHERE h.batch_id = ${batchId} AND h.outcome = 'applied' AND h.event_type IN ('VALIDATION_PAUSED', 'VALIDATION_RESUMED')
      ORDER BY h.seq DESC LIMIT 1) END)`;
}

/** A paused validation as the history recorded it (pausedOf). */
export interface PauseFacts {
  paused_at: string;
  by: string;
  until: string | null;
  remaining_ms: number;
  paused_due_at: string;
  resume_deadline_version: number | null;
  reason: string | null;
}

export type DeadlineRow = Pick<typeof deadlines.$inferSelect, 'batch_id' | 'version' | 'due_at'>;

const deadlineColumns = { batch_id: deadlines.batch_id, version: deadlines.version, due_at: deadlines.due_at };

/**
 * Claims up to `limit` due deadlines for `leaseMs`. SKIP LOCKED plus the lease keep concurrent
 * sweepers on different rows; the claim commits at once so no lock is held while they fire. Raw
 * SQL: drizzle's builder has no UPDATE … FROM (subquery … FOR UPDATE SKIP LOCKED).
 */
export async function claimDue(db: Db, limit: number, leaseMs: number): Promise<DeadlineRow[]> {
  return rows<DeadlineRow>(
    db,
    sql`UPDATE deadlines d SET claimed_until = now() + ${leaseMs} * interval '1 millisecond'
        FROM (SELECT batch_id FROM deadlines
              WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) due
        WHERE d.batch_id = due.batch_id
        RETURNING d.batch_id, d.version, d.due_at`,
  );
}

/** This version of a batch's deadline, or none when it is no longer pending. */
export async function findDeadline(db: Db, batchId: string, version: number): Promise<DeadlineRow | null> {
  const [row] = await all(
    db,
    db
      .select(deadlineColumns)
      .from(deadlines)
      .where(and(eq(deadlines.batch_id, batchId), eq(deadlines.version, version))),
  );
  return row ?? null;
}

/** Every pending deadline, soonest first. */
export async function pendingDeadlineRows(db: Db, limit: number): Promise<DeadlineRow[]> {
  return all(db, db.select(deadlineColumns).from(deadlines).orderBy(asc(deadlines.due_at)).limit(limit));
}

export interface TeacherDeadlineRow {
  batch_id: string;
  class_id: string;
  course_code: string;
  due_at: string;
  version: number;
  pending: number;
  auto_confirm: number;
  to_unknown: number;
  reason: DeadlineReason | null;
}

/**
 * A teacher's pending deadlines before `before`, with how many pending associations the deadline
 * keeps and how many it links to UNKNOWN. `keepThreshold` is the machine's timeout rule
 * (TIMEOUT_CONFIDENCE_THRESHOLD), passed in so this SQL copy of the rule cannot drift from it.
 * Raw SQL: FILTER aggregates.
 */
export async function teacherDeadlineRows(
  db: Db,
  ownerId: string,
  before: string | undefined,
  keepThreshold: number,
): Promise<TeacherDeadlineRow[]> {
  return rows<TeacherDeadlineRow>(
    db,
    sql`SELECT d.batch_id, b.class_id, b.course_code, d.due_at, d.version, ${reasonOf(sql`d.batch_id`)} AS reason,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation')::int AS pending,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation' AND a.suggested_student_id IS NOT NULL
                                AND a.confidence_score >= ${keepThreshold}::double precision)::int AS auto_confirm,
          count(a.id) FILTER (WHERE a.validation_status = 'pending_validation' AND (a.suggested_student_id IS NULL
                                OR a.confidence_score IS NULL OR a.confidence_score < ${keepThreshold}::double precision))::int AS to_unknown
        FROM deadlines d JOIN batches b ON b.batch_id = d.batch_id
        LEFT JOIN essay_student_associations a ON a.batch_id = d.batch_id
        WHERE b.owner_id = ${ownerId} ${before ? sql`AND d.due_at < ${before}::timestamptz` : sql``}
          AND ${pausedOf(sql`d.batch_id`, sql`b.state`)} IS NULL
        GROUP BY d.batch_id, b.class_id, b.course_code, d.due_at, d.version, b.state
        ORDER BY d.due_at, d.batch_id
        LIMIT 1000`,
  );
}

export interface TeacherPausedRow {
  batch_id: string;
  class_id: string;
  course_code: string;
  pause: PauseFacts;
  pending: number;
}

/** A teacher's paused validations, soonest pause end first (those without an end last). */
export async function teacherPausedRows(db: Db, ownerId: string): Promise<TeacherPausedRow[]> {
  return rows<TeacherPausedRow>(
    db,
    sql`SELECT p.batch_id, p.class_id, p.course_code, p.pause,
          (SELECT count(*)::int FROM essay_student_associations a
            WHERE a.batch_id = p.batch_id AND a.validation_status = 'pending_validation') AS pending
        FROM (SELECT b.batch_id, b.class_id, b.course_code, ${pausedOf(sql`b.batch_id`, sql`b.state`)} AS pause
              FROM batches b WHERE b.owner_id = ${ownerId} AND b.state = ${AWAITING_TEACHER}) p
        WHERE p.pause IS NOT NULL
        ORDER BY p.pause->>'until' NULLS LAST, p.batch_id
        LIMIT 1000`,
  );
}

/** The batches of a class that await the teacher (a pause of the class applies to each). */
export async function classBatchesAwaitingTeacher(db: Db, classId: string): Promise<Array<{ batch_id: string; owner_id: string }>> {
  return rows(
    db,
    sql`SELECT batch_id, owner_id FROM batches WHERE class_id = ${classId} AND state = ${AWAITING_TEACHER} ORDER BY created_at, batch_id`,
  );
}
