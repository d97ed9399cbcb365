import type { Db } from '../db/client.ts';
import { type HistoryRowRead, classSummaries, historyRowsSince, operatorCounts } from '../db/review-reads.ts';

/** Reads the review page needs beyond the batch read model, shaped for it: classes, stream rows, operator numbers (SQL in db/review-reads.ts). */

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

/** The caller's classes, with how many students each has (the UNKNOWN student not counted). */
export async function listClasses(db: Db, ownerId: string) {
  return (await classSummaries(db, ownerId)).map((c) => ({
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

export type StreamHistoryRow = HistoryRowRead;

/** History rows of one owned batch after `after`, plus its newest rows (see STREAM_OVERLAP_ROWS), by seq. */
export async function historySince(db: Db, ownerId: string, batchId: string, after: number): Promise<StreamHistoryRow[]> {
  const found = await historyRowsSince(db, ownerId, batchId, after, STREAM_OVERLAP_ROWS);
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
  const row = await operatorCounts(db, WAITING_STATES, stuckAfterMs);
  return {
    deadlines_overdue: Number(row?.overdue ?? 0),
    batches_stuck: Number(row?.stuck ?? 0),
    stuck_after_ms: stuckAfterMs,
    oldest_unpublished_outbox_age_seconds: Math.max(0, Number(row?.oldest ?? 0)),
  };
}
