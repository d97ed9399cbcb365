import { sql } from 'drizzle-orm';
import { type Db, rows } from '../db/client.ts';

/** Reads the review page needs beyond the batch read model: classes, stream rows, operator numbers. */

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

/** The caller's classes, with how many students each has (the UNKNOWN student not counted). */
export async function listClasses(db: Db, ownerId: string) {
  const found = await rows<{ id: string; name: string; course_code: string; created_at: string; students: number }>(
    db,
    sql`SELECT c.id, c.name, c.course_code, c.created_at,
          count(s.id) FILTER (WHERE NOT s.is_unknown)::int AS students
        FROM classes c LEFT JOIN class_students m ON m.class_id = c.id LEFT JOIN students s ON s.id = m.student_id
        WHERE c.owner_id = ${ownerId}
        GROUP BY c.id ORDER BY c.name, c.id LIMIT 1000`,
  );
  return found.map((c) => ({
    class_id: c.id,
    name: c.name,
    course_code: c.course_code,
    created_at: iso(c.created_at),
    student_count: Number(c.students),
  }));
}

/**
 * How far back a stream re-reads a batch's history each time. `seq` is drawn when a row is
 * inserted: applied rows of one batch are drawn under the snapshot's row lock, so they are in
 * commit order, but a refusal is a lone insert and may commit just after a later row. Re-reading
 * the batch's newest rows catches such a straggler; readers drop the seqs they already have.
 */
export const STREAM_OVERLAP_ROWS = 16;

export interface StreamHistoryRow {
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

/** History rows of one owned batch after `after`, plus its newest rows (see STREAM_OVERLAP_ROWS), by seq. */
export async function historySince(db: Db, ownerId: string, batchId: string, after: number): Promise<StreamHistoryRow[]> {
  const found = await rows<StreamHistoryRow>(
    db,
    sql`SELECT seq, at, event_type, event_id, actor, from_state, to_state, outcome, reason, version, detail
        FROM history
        WHERE batch_id = ${batchId}
          AND EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = ${batchId} AND b.owner_id = ${ownerId})
          AND (seq > ${after} OR seq IN (SELECT seq FROM history WHERE batch_id = ${batchId} ORDER BY seq DESC LIMIT ${STREAM_OVERLAP_ROWS}))
        ORDER BY seq`,
  );
  return found.map((h) => ({ ...h, seq: Number(h.seq), at: iso(h.at) }));
}

/**
 * States where a batch waits for another service; one sitting in them too long is "stuck".
 * Waiting for the teacher is not among them: the validation deadline bounds that wait.
 */
export const WAITING_STATES = [
  'awaiting_content_validation',
  'awaiting_student_validation.awaiting_suggestions',
  'student_validation_completed',
  'awaiting_pipeline_configuration',
] as const;

export interface OperatorNumbers {
  /** Deadlines whose due time has passed but whose timeout has not been applied. */
  deadlines_overdue: number;
  /** Batches in a waiting state with no change for longer than `stuck_after_ms`. */
  batches_stuck: number;
  stuck_after_ms: number;
  /** Age of the oldest outbox row not yet published, in seconds; 0 when none is waiting. */
  oldest_unpublished_outbox_age_seconds: number;
}

/** The three numbers an operator watches, in one round trip. */
export async function operatorNumbers(db: Db, stuckAfterMs: number): Promise<OperatorNumbers> {
  const waiting = sql.join(
    WAITING_STATES.map((s) => sql`${s}`),
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
  return {
    deadlines_overdue: Number(row?.overdue ?? 0),
    batches_stuck: Number(row?.stuck ?? 0),
    stuck_after_ms: stuckAfterMs,
    oldest_unpublished_outbox_age_seconds: Math.max(0, Number(row?.oldest ?? 0)),
  };
}
