import { sql } from 'drizzle-orm';
import { TIMEOUT_CONFIDENCE_THRESHOLD, confidenceLevel } from '../machines/domain.ts';
import { type Db, rows } from '../db/client.ts';

/** Read side: projections only, never snapshots. Teachers see only what they own. */

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

interface BatchRow {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  class_type: string;
  course_code: string;
  language: string;
  expected_essay_count: number;
  correlation_id: string;
  status: string;
  state: string;
  version: number;
  due_at: string | null;
  prompt_payload: unknown;
  student_prompt_ref: unknown;
  created_at: string;
  updated_at: string;
  pending: number;
  confirmed: number;
  rejected: number;
  timeout_confirmed: number;
  no_match: number;
}

function batchView(row: BatchRow) {
  return {
    batch_id: row.batch_id,
    class_id: row.class_id,
    class_type: row.class_type,
    course_code: row.course_code,
    language: row.language,
    expected_essay_count: row.expected_essay_count,
    correlation_id: row.correlation_id,
    status: row.status,
    state: row.state,
    version: row.version,
    prompt_payload: row.prompt_payload ?? null,
    student_prompt_ref: row.student_prompt_ref ?? null,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    validation: {
      due_at: iso(row.due_at),
      pending: Number(row.pending),
      confirmed: Number(row.confirmed),
      rejected: Number(row.rejected),
      timeout_confirmed: Number(row.timeout_confirmed),
      no_match: Number(row.no_match),
    },
  };
}
export type BatchView = ReturnType<typeof batchView>;

const BATCH_SELECT = sql`SELECT b.*,
    count(a.id) FILTER (WHERE a.validation_status = 'pending_validation') AS pending,
    count(a.id) FILTER (WHERE a.validation_status = 'confirmed') AS confirmed,
    count(a.id) FILTER (WHERE a.validation_status = 'rejected') AS rejected,
    count(a.id) FILTER (WHERE a.validation_status = 'timeout_confirmed') AS timeout_confirmed,
    count(a.id) FILTER (WHERE a.validation_status = 'no_match') AS no_match
  FROM batches b LEFT JOIN essay_student_associations a ON a.batch_id = b.batch_id`;

export async function getBatch(db: Db, ownerId: string, batchId: string): Promise<BatchView | null> {
  const [row] = await rows<BatchRow>(
    db,
    sql`${BATCH_SELECT} WHERE b.batch_id = ${batchId} AND b.owner_id = ${ownerId} GROUP BY b.batch_id`,
  );
  return row ? batchView(row) : null;
}

export async function listBatches(db: Db, ownerId: string, status: string | undefined): Promise<BatchView[]> {
  const found = await rows<BatchRow>(
    db,
    sql`${BATCH_SELECT} WHERE b.owner_id = ${ownerId} ${status ? sql`AND b.status = ${status}` : sql``}
        GROUP BY b.batch_id ORDER BY b.created_at DESC, b.batch_id LIMIT 1000`,
  );
  return found.map(batchView);
}

async function ownsBatch(db: Db, ownerId: string, batchId: string): Promise<{ due_at: string | null } | null> {
  const [row] = await rows<{ due_at: string | null }>(
    db,
    sql`SELECT due_at FROM batches WHERE batch_id = ${batchId} AND owner_id = ${ownerId}`,
  );
  return row ?? null;
}

interface AssociationRow {
  essay_id: string;
  student_id: string | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  suggested_student_id: string | null;
  confidence_score: number | null;
  match_reasons: string[] | null;
  validation_status: string;
  validation_method: string | null;
  validated_by: string | null;
  validated_at: string | null;
  created_at: string;
  filename: string | null;
  suggestions: Array<{ student_id: string; student_name: string; student_email: string | null; confidence_score: number; match_reasons: string[] }> | null;
}

export async function listAssociations(db: Db, ownerId: string, batchId: string) {
  const batch = await ownsBatch(db, ownerId, batchId);
  if (!batch) return null;
  const found = await rows<AssociationRow>(
    db,
    sql`SELECT a.essay_id, a.student_id, s.first_name, s.last_name, s.email, a.suggested_student_id, a.confidence_score,
          a.match_reasons, a.validation_status, a.validation_method, a.validated_by, a.validated_at, a.created_at,
          a.filename, a.suggestions
        FROM essay_student_associations a LEFT JOIN students s ON s.id = a.student_id
        WHERE a.batch_id = ${batchId} ORDER BY a.created_at, a.essay_id`,
  );
  return found.map((a) => ({
    essay_id: a.essay_id,
    student_id: a.student_id,
    student: a.student_id === null ? null : { name: `${a.first_name} ${a.last_name}`, email: a.email },
    suggested_student_id: a.suggested_student_id,
    confidence_score: a.confidence_score,
    confidence_level: confidenceLevel(a.suggested_student_id === null ? null : a.confidence_score),
    match_reasons: a.match_reasons,
    filename: a.filename,
    // Highest confidence first, as stored; each with the matcher's own name for the student.
    suggestions: (a.suggestions ?? []).map((s) => ({
      student_id: s.student_id,
      student_name: s.student_name,
      student_email: s.student_email ?? null,
      confidence_score: s.confidence_score,
      match_reasons: s.match_reasons,
    })),
    validation_status: a.validation_status,
    validation_method: a.validation_method,
    validated_by: a.validated_by,
    validated_at: iso(a.validated_at),
    due_at: a.validation_status === 'pending_validation' ? iso(batch.due_at) : null,
    if_no_decision: ifNoDecision(a),
  }));
}

/** What the deadline would do to a pending association (as machines/association.ts decides it). */
function ifNoDecision(a: Pick<AssociationRow, 'validation_status' | 'suggested_student_id' | 'confidence_score'>) {
  if (a.validation_status !== 'pending_validation') return null;
  const keeps = a.suggested_student_id !== null && a.confidence_score !== null && a.confidence_score >= TIMEOUT_CONFIDENCE_THRESHOLD;
  return keeps ? ('keep_suggestion' as const) : ('unknown_student' as const);
}

interface HistoryRow {
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
}

export async function batchHistory(db: Db, ownerId: string, batchId: string) {
  if (!(await ownsBatch(db, ownerId, batchId))) return null;
  const found = await rows<HistoryRow>(
    db,
    sql`SELECT seq, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail
        FROM history WHERE batch_id = ${batchId} ORDER BY seq`,
  );
  return found.map((h) => ({ ...h, seq: Number(h.seq), at: iso(h.at) }));
}

/**
 * The outbound feed in commit order. Rows committed since the last read get their positions first,
 * under a lock, so every reader sees positions grow in the order rows became visible.
 */
export async function outboxAfter(db: Db, after: number, limit: number) {
  const found = await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(sql`SELECT pg_advisory_xact_lock(7253112)`);
    await t.execute(sql`UPDATE outbox o SET position = p.position
      FROM (SELECT seq, (SELECT coalesce(max(position), 0) FROM outbox) + row_number() OVER (ORDER BY seq) AS position
            FROM outbox WHERE position IS NULL) p
      WHERE o.seq = p.seq`);
    return rows<{ position: number; topic: string; event_id: string; batch_id: string; created_at: string; envelope: unknown }>(
      t,
      sql`SELECT position, topic, event_id, batch_id, created_at, envelope FROM outbox
          WHERE position > ${after} ORDER BY position LIMIT ${limit}`,
    );
  });
  const events = found.map(({ position, ...o }) => ({ seq: Number(position), ...o, created_at: iso(o.created_at) }));
  return { events, next_after: events.at(-1)?.seq ?? after };
}
