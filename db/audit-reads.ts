import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import { batchActorId } from './transition-types.ts';

/**
 * What the audit (app/audit.ts) reads of one batch: everything its transitions wrote, as stored.
 * Timestamps are read as ISO strings at millisecond precision, as the application writes them, so
 * a replayed value and a stored one compare as text on PostgreSQL and PGlite alike.
 */

const iso = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);

export interface StoredHistoryRow {
  seq: number;
  at: string;
  event_type: string;
  event_id: string | null;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  correlation_id: string | null;
  outcome: string;
  reason: string | null;
  version: number;
  detail: unknown;
  machine_input: unknown;
}

/** One message of the batch's outbox rows: `seq` names its row, `idx` its place in the row (from 1). */
export interface StoredOutboxRow {
  seq: number;
  idx: number;
  event_id: string;
  topic: string;
  correlation_id: string;
  envelope: unknown;
}

/** The projection row of an association (essay_student_associations), as the transitions write it. */
export type StoredAssociationRow = Record<string, unknown> & { essay_id: string };

export interface StoredBatch {
  batch: {
    state: string;
    status: string;
    version: number;
    due_at: string | null;
    owner_id: string;
    class_id: string | null;
    class_type: string;
    course_code: string;
    language: string;
    expected_essay_count: number;
    correlation_id: string;
    prompt_payload: unknown;
    student_prompt_ref: unknown;
  };
  snapshot: { machine_version: number; version: number; snapshot: unknown } | null;
  history: StoredHistoryRow[];
  outbox: StoredOutboxRow[];
  associationRows: StoredAssociationRow[];
  associationSnapshots: Array<{ essay_id: string; machine_version: number; snapshot: unknown }>;
}

/** Everything stored about one batch, or null when there is no such batch. */
export async function readStoredBatch(db: Db, batchId: string): Promise<StoredBatch | null> {
  const [batch] = await rows<StoredBatch['batch']>(
    db,
    sql`SELECT state, status, version, ${iso('due_at')} AS due_at, owner_id, class_id::text AS class_id, class_type, course_code,
          language, expected_essay_count, correlation_id::text AS correlation_id, prompt_payload, student_prompt_ref
        FROM batches WHERE batch_id = ${batchId}`,
  );
  if (!batch) return null;
  const [snapshot, history, outbox, associationRows, associationSnapshots] = await Promise.all([
    rows<NonNullable<StoredBatch['snapshot']>>(
      db,
      sql`SELECT machine_version, version, snapshot FROM actor_snapshots WHERE actor_id = ${batchActorId(batchId)}`,
    ),
    rows<StoredHistoryRow>(
      db,
      sql`SELECT seq, ${iso('at')} AS at, event_type, event_id, actor, from_state, to_state, correlation_id::text AS correlation_id,
            outcome, reason, version, detail, machine_input
          FROM history WHERE batch_id = ${batchId} ORDER BY seq`,
    ),
    rows<StoredOutboxRow>(
      db,
      sql`SELECT seq, idx, event_id::text AS event_id, topic, correlation_id::text AS correlation_id, envelope
          FROM outbox_messages WHERE batch_id = ${batchId} ORDER BY seq, idx`,
    ),
    rows<StoredAssociationRow>(
      db,
      sql`SELECT essay_id::text AS essay_id, student_id::text AS student_id, batch_id::text AS batch_id, class_id::text AS class_id,
            created_by_user_id, ${iso('created_at')} AS created_at, confidence_score, match_reasons, validation_status, validated_by,
            ${iso('validated_at')} AS validated_at, validation_method, suggested_student_id::text AS suggested_student_id,
            text_storage_id, filename, suggestions
          FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY essay_id`,
    ),
    rows<StoredBatch['associationSnapshots'][number]>(
      db,
      sql`SELECT essay_id::text AS essay_id, machine_version, snapshot FROM essay_student_associations
          WHERE batch_id = ${batchId} AND snapshot IS NOT NULL ORDER BY essay_id`,
    ),
  ]);
  return {
    batch,
    snapshot: snapshot[0] ?? null,
    history: history.map((h) => ({ ...h, seq: Number(h.seq) })),
    outbox: outbox.map((o) => ({ ...o, seq: Number(o.seq) })),
    associationRows,
    associationSnapshots,
  };
}

/** Every batch's id, oldest first, for `npm run audit -- --all`. */
export async function allBatchIds(db: Db): Promise<string[]> {
  const found = await rows<{ batch_id: string }>(db, sql`SELECT batch_id::text AS batch_id FROM batches ORDER BY created_at, batch_id`);
  return found.map((r) => r.batch_id);
}
