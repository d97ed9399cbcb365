import { and, asc, eq, sql } from 'drizzle-orm';
import { type Db, all, rows } from './client.ts';
import { type PauseFacts, pausedOf } from './deadlines.ts';
import { batches, essaySlots, essayStudentAssociations, history, students } from './schema.ts';

/** Read side: projections only, never snapshots. Every read is scoped to the batch's owner. */

export type BatchWithCounts = typeof batches.$inferSelect & {
  /** The pause, while the validation is paused (from the history, db/deadlines.ts pausedOf). */
  pause: PauseFacts | null;
  pending: number;
  confirmed: number;
  rejected: number;
  timeout_confirmed: number;
  no_match: number;
};

/** Raw SQL: FILTER aggregates, one per validation status. */
const BATCH_SELECT = sql`SELECT b.*, ${pausedOf(sql`b.batch_id`, sql`b.state`)} AS pause,
    count(a.id) FILTER (WHERE a.validation_status = 'pending_validation')::int AS pending,
    count(a.id) FILTER (WHERE a.validation_status = 'confirmed')::int AS confirmed,
    count(a.id) FILTER (WHERE a.validation_status = 'rejected')::int AS rejected,
    count(a.id) FILTER (WHERE a.validation_status = 'timeout_confirmed')::int AS timeout_confirmed,
    count(a.id) FILTER (WHERE a.validation_status = 'no_match')::int AS no_match
  FROM batches b LEFT JOIN essay_student_associations a ON a.batch_id = b.batch_id`;

export async function findBatchWithCounts(db: Db, ownerId: string, batchId: string): Promise<BatchWithCounts | null> {
  const [row] = await rows<BatchWithCounts>(
    db,
    sql`${BATCH_SELECT} WHERE b.batch_id = ${batchId} AND b.owner_id = ${ownerId} GROUP BY b.batch_id`,
  );
  return row ?? null;
}

export async function listBatchesWithCounts(db: Db, ownerId: string, status: string | undefined): Promise<BatchWithCounts[]> {
  return rows<BatchWithCounts>(
    db,
    sql`${BATCH_SELECT} WHERE b.owner_id = ${ownerId} ${status ? sql`AND b.status = ${status}` : sql``}
        GROUP BY b.batch_id ORDER BY b.created_at DESC, b.batch_id LIMIT 1000`,
  );
}

/** The batch's deadline if `ownerId` owns it; null when the batch is not theirs (or not at all). */
export async function findOwnedBatch(db: Db, ownerId: string, batchId: string): Promise<{ due_at: string | null } | null> {
  const [row] = await all(
    db,
    db
      .select({ due_at: batches.due_at })
      .from(batches)
      .where(and(eq(batches.batch_id, batchId), eq(batches.owner_id, ownerId))),
  );
  return row ?? null;
}

const a = essayStudentAssociations;

/** One association with its student's name, as the review lists it. */
export async function associationRows(db: Db, batchId: string) {
  return all(
    db,
    db
      .select({
        essay_id: a.essay_id,
        student_id: a.student_id,
        first_name: students.first_name,
        last_name: students.last_name,
        email: students.email,
        suggested_student_id: a.suggested_student_id,
        confidence_score: a.confidence_score,
        match_reasons: a.match_reasons,
        validation_status: a.validation_status,
        validation_method: a.validation_method,
        validated_by: a.validated_by,
        validated_at: a.validated_at,
        created_at: a.created_at,
        // The matcher's filename is empty in the real system; the slot's original file name is what the teacher uploaded.
        filename: sql<string | null>`coalesce(nullif(${a.filename}, ''), ${essaySlots.original_file_name}, ${a.filename})`.as('filename'),
        suggestions: a.suggestions,
      })
      .from(a)
      .leftJoin(students, eq(students.id, a.student_id))
      .leftJoin(essaySlots, eq(essaySlots.essay_id, a.essay_id))
      .where(eq(a.batch_id, batchId))
      .orderBy(asc(a.created_at), asc(a.essay_id)),
  );
}
export type AssociationReadRow = Awaited<ReturnType<typeof associationRows>>[number];

/** The batch's audit log in the order it was written. */
export async function historyRows(
  db: Db,
  batchId: string,
): Promise<Array<Omit<typeof history.$inferSelect, 'batch_id' | 'machine_input'>>> {
  return all(
    db,
    db
      .select({
        seq: history.seq,
        at: history.at,
        event_type: history.event_type,
        event_id: history.event_id,
        actor: history.actor,
        from_state: history.from_state,
        to_state: history.to_state,
        correlation_id: history.correlation_id,
        outcome: history.outcome,
        reason: history.reason,
        version: history.version,
        detail: history.detail,
      })
      .from(history)
      .where(eq(history.batch_id, batchId))
      .orderBy(asc(history.seq)),
  );
}
