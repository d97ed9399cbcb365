import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import type { HistoryRow, OutboxMessage } from './transition-types.ts';
import { writeNotifications } from './transition-writers.ts';
import { pausedOf } from './deadlines.ts';

/** A pending deadline that is within its reminder window, with what a reminder says about its batch. */
export interface DueReminder {
  batch_id: string;
  version: number;
  due_at: string;
  owner_id: string;
  class_id: string | null;
  correlation_id: string;
  state: string;
  batch_version: number;
  pending: number;
}

/**
 * Claims up to `limit` deadlines due within `leadMs` that were not reminded of at their current
 * version, and writes what `build` makes of them (one notification and one history row each) in
 * the same transaction as the mark: a reminder is sent once per deadline version, or not at all.
 */
export async function sendDueReminders(
  db: Db,
  leadMs: number,
  limit: number,
  build: (due: DueReminder) => { outbox: OutboxMessage; history: HistoryRow },
): Promise<DueReminder[]> {
  return db.transaction(async (tx) => {
    const due = await rows<DueReminder>(
      tx as unknown as Db,
      sql`WITH claim AS (
            SELECT batch_id FROM deadlines
            WHERE due_at > now() AND due_at <= now() + ${leadMs} * interval '1 millisecond'
              AND reminded_version IS DISTINCT FROM version
              -- A paused validation's row is the pause's end, not a decision: nothing to remind of.
              AND ${pausedOf(sql`deadlines.batch_id`, sql`(SELECT state FROM batches WHERE batches.batch_id = deadlines.batch_id)`)} IS NULL
            ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED),
          marked AS (
            UPDATE deadlines d SET reminded_version = d.version FROM claim
            WHERE d.batch_id = claim.batch_id
            RETURNING d.batch_id, d.version, d.due_at)
          SELECT m.batch_id, m.version, m.due_at, b.owner_id, b.class_id, b.correlation_id, b.state, b.version AS batch_version,
            (SELECT count(*)::int FROM essay_student_associations a WHERE a.batch_id = m.batch_id AND a.validation_status = 'pending_validation') AS pending
          FROM marked m JOIN batches b ON b.batch_id = m.batch_id`,
    );
    if (due.length === 0) return due;
    await writeNotifications(
      tx as unknown as Db,
      due.map((d) => ({ batchId: d.batch_id, batchVersion: d.batch_version, ...build(d) })),
    );
    return due;
  });
}
