import { TIMEOUT_CONFIDENCE_THRESHOLD, confidenceLevel } from '../machines/domain.ts';
import type { Db } from '../db/client.ts';
import {
  type AssociationReadRow,
  type BatchWithCounts,
  associationRows,
  findBatchWithCounts,
  findOwnedBatch,
  historyRows,
  listBatchesWithCounts,
} from '../db/batch-reads.ts';
import { feedAfter } from '../db/feed.ts';

/** Read side: the views of the projections db/batch-reads.ts reads. Teachers see only what they own. */

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

function batchView(row: BatchWithCounts) {
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
      paused:
        row.pause === null
          ? null
          : {
              paused_at: iso(row.pause.paused_at)!,
              by: row.pause.by,
              until: row.pause.until,
              remaining_ms: row.pause.remaining_ms,
              paused_due_at: row.pause.paused_due_at,
            },
      pending: row.pending,
      confirmed: row.confirmed,
      rejected: row.rejected,
      timeout_confirmed: row.timeout_confirmed,
      no_match: row.no_match,
    },
  };
}
export type BatchView = ReturnType<typeof batchView>;

export async function getBatch(db: Db, ownerId: string, batchId: string): Promise<BatchView | null> {
  const row = await findBatchWithCounts(db, ownerId, batchId);
  return row ? batchView(row) : null;
}

export async function listBatches(db: Db, ownerId: string, status: string | undefined): Promise<BatchView[]> {
  return (await listBatchesWithCounts(db, ownerId, status)).map(batchView);
}

type StoredSuggestion = {
  student_id: string;
  student_name: string;
  student_email: string | null;
  confidence_score: number;
  match_reasons: string[];
};

export async function listAssociations(db: Db, ownerId: string, batchId: string) {
  const batch = await findOwnedBatch(db, ownerId, batchId);
  if (!batch) return null;
  const found = await associationRows(db, batchId);
  return found.map((a) => ({
    essay_id: a.essay_id,
    student_id: a.student_id,
    student: a.student_id === null ? null : { name: `${a.first_name} ${a.last_name}`, email: a.email },
    suggested_student_id: a.suggested_student_id,
    confidence_score: a.confidence_score,
    confidence_level: confidenceLevel(a.suggested_student_id === null ? null : a.confidence_score),
    match_reasons: a.match_reasons as string[] | null,
    filename: a.filename,
    // Highest confidence first, as stored; each with the matcher's own name for the student.
    suggestions: ((a.suggestions ?? []) as StoredSuggestion[]).map((s) => ({
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
function ifNoDecision(a: Pick<AssociationReadRow, 'validation_status' | 'suggested_student_id' | 'confidence_score'>) {
  if (a.validation_status !== 'pending_validation') return null;
  const keeps = a.suggested_student_id !== null && a.confidence_score !== null && a.confidence_score >= TIMEOUT_CONFIDENCE_THRESHOLD;
  return keeps ? ('keep_suggestion' as const) : ('unknown_student' as const);
}

export async function batchHistory(db: Db, ownerId: string, batchId: string) {
  if (!(await findOwnedBatch(db, ownerId, batchId))) return null;
  const found = await historyRows(db, batchId);
  return found.map((h) => ({ ...h, seq: Number(h.seq), at: iso(h.at) }));
}

/** The outbound feed in commit order (db/feed.ts hands out the positions). */
export async function outboxAfter(db: Db, after: number, limit: number) {
  const found = await feedAfter(db, after, limit);
  const events = found.map(({ position, ...o }) => ({ seq: Number(position), ...o, created_at: iso(o.created_at) }));
  return { events, next_after: events.at(-1)?.seq ?? after };
}
