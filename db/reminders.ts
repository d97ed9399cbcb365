import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import type { HistoryRow, OutboxRow } from './transition-types.ts';

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
  build: (due: DueReminder) => { outbox: OutboxRow; history: HistoryRow },
): Promise<DueReminder[]> {
  return db.transaction(async (tx) => {
    const due = await rows<DueReminder>(
      tx as unknown as Db,
      sql`WITH claim AS (
            SELECT batch_id FROM deadlines
            WHERE due_at > now() AND due_at <= now() + ${leadMs} * interval '1 millisecond'
              AND reminded_version IS DISTINCT FROM version
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
    const built = due.map((d) => ({ ...build(d), batch_id: d.batch_id, batch_version: d.batch_version }));
    const payload = JSON.stringify(built.map((b) => ({ batch_id: b.batch_id, ...b.outbox })));
    await tx.execute(sql`INSERT INTO outbox (event_id, topic, batch_id, correlation_id, envelope)
      SELECT o.event_id, o.topic, o.batch_id, o.correlation_id, o.envelope
      FROM jsonb_to_recordset(${payload}::jsonb) AS o(event_id uuid, topic text, batch_id uuid, correlation_id uuid, envelope jsonb)`);
    const history = JSON.stringify(
      built.map((b) => ({ batch_id: b.batch_id, version: b.batch_version, ...b.history, detail: b.history.detail ?? null })),
    );
    await tx.execute(sql`INSERT INTO history (batch_id, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail)
      SELECT h.batch_id, h.at, h.event_type, h.event_id, h.actor, h.from_state, h.to_state, h.correlation_id, h.outcome, h.reason, h.version, h.detail
      FROM jsonb_to_recordset(${history}::jsonb) AS h(batch_id uuid, at timestamptz, event_type text, event_id text, actor text, from_state text,
        to_state text, correlation_id uuid, outcome text, reason text, version int, detail jsonb)`);
    return due;
  });
}
