import type { Db } from '../db/client.ts';
import { type BatchPersonalRows, type BatchRedaction, purgeBatchPersonalData, retentionCandidates } from '../db/retention.ts';
import { type PipelineState, pipelineEnded } from '../machines/pipelines.ts';
import {
  RETENTION_ACTOR,
  RETENTION_EVENT,
  RETENTION_OUTCOME,
  REDACTED,
  changedBy,
  redactAssociationRow,
  redactAssociationSnapshot,
  redactBatchSnapshot,
  redactEnvelope,
  redactFileName,
  redactHistoryDetail,
  redactMachineInput,
  redactResponse,
} from './retention-redact.ts';

/**
 * Retention: a finished batch unchanged for the retention period loses its personal data (student
 * names, e-mails, file names, free-text reasons) in every row of the batch, pseudonymised by
 * app/retention-redact.ts, while its decision trail stays. One transaction per batch; a batch purged
 * once is not taken again unless an event changed it since. The roster (students, class_students)
 * is the class's, not the batch's, and is left alone (docs/operations.md#retention).
 */

/** Final states of the batch machine: nothing can happen to the batch any more. */
const FINAL_STATES = ['content_ingestion_failed', 'failed_critically', 'cancelled'] as const;
const READY = 'ready_for_pipeline_execution';

/**
 * Whether a batch is finished: in a final state, or ready (where the machine stays while pipelines
 * run) with a started pipeline that runs no phase and whose phases all ended, or one failed (the
 * phases after a failure never run). A ready batch with no pipeline, or one still running, is not.
 */
export function batchFinished(state: string, pipelineState: unknown): boolean {
  if ((FINAL_STATES as readonly string[]).includes(state)) return true;
  if (state !== READY || pipelineState === null || typeof pipelineState !== 'object') return false;
  const pipeline = pipelineState as Partial<PipelineState>;
  return pipelineEnded({ requested_pipelines: pipeline.requested_pipelines ?? [], phases: pipeline.phases ?? {}, last_updated: null });
}

/** Rows a purge rewrote (or, in a dry run, would rewrite), per table. */
export interface RetentionRows {
  actor_snapshots: number;
  /**
   * Association snapshots redacted: essay_student_associations.snapshot since the two were one row,
   * counted apart from the projection columns under the name the report has always had.
   */
  association_snapshots: number;
  essay_student_associations: number;
  essay_slots: number;
  history: number;
  outbox: number;
  processed_events: number;
}

export interface PurgedBatch {
  batch_id: string;
  state: string;
  /** When the batch last changed: the retention period counts from here. */
  last_changed_at: string;
  rows: RetentionRows;
}

export interface RetentionReport {
  dry_run: boolean;
  retention_days: number;
  /** Batches last changed before this are old enough. */
  cutoff: string;
  at: string;
  batches: PurgedBatch[];
  totals: RetentionRows;
  /** Old enough and finished, but left for the next pass (`limit`). */
  remaining: number;
}

export interface RetentionRequest {
  retentionDays: number;
  now: Date;
  dryRun?: boolean;
  /** At most this many batches in one pass; the rest are `remaining`. */
  limit?: number;
}

const DAY_MS = 86_400_000;

function redaction(found: BatchPersonalRows): Omit<BatchRedaction, 'record'> {
  const actor = redactBatchSnapshot(found.actor_snapshot);
  const changedOnly = <R>(list: R[], redact: (row: R) => R) =>
    list.flatMap((row) => {
      const after = redact(row);
      return changedBy(row, after) ? [after] : [];
    });
  return {
    actor_snapshot: changedBy(found.actor_snapshot, actor) ? actor : undefined,
    association_snapshots: changedOnly(found.association_snapshots, (r) => ({ ...r, snapshot: redactAssociationSnapshot(r.snapshot) })),
    essay_student_associations: changedOnly(found.essay_student_associations, redactAssociationRow),
    essay_slots: changedOnly(found.essay_slots, (r) => ({ ...r, original_file_name: redactFileName(r.original_file_name) })),
    history: changedOnly(found.history, (r) => ({
      ...r,
      detail: redactHistoryDetail(r.detail),
      machine_input: redactMachineInput(r.machine_input),
    })),
    outbox: changedOnly(found.outbox, (r) => ({ ...r, envelope: redactEnvelope(r.envelope) })),
    processed_events: changedOnly(found.processed_events, (r) => ({ ...r, response: redactResponse(r.response) })),
  };
}

function countsOf(r: Omit<BatchRedaction, 'record'>): RetentionRows {
  return {
    actor_snapshots: r.actor_snapshot === undefined ? 0 : 1,
    association_snapshots: r.association_snapshots.length,
    essay_student_associations: r.essay_student_associations.length,
    essay_slots: r.essay_slots.length,
    history: r.history.length,
    outbox: r.outbox.length,
    processed_events: r.processed_events.length,
  };
}

const noRows = (): RetentionRows => ({
  actor_snapshots: 0,
  association_snapshots: 0,
  essay_student_associations: 0,
  essay_slots: 0,
  history: 0,
  outbox: 0,
  processed_events: 0,
});

const iso = (time: string | Date) => new Date(time).toISOString();

/**
 * One retention pass: every finished batch last changed more than `retentionDays` ago and not yet
 * purged at its current version, oldest first, up to `limit`, each in its own transaction. The
 * batch's history gets a `RETENTION_PURGED` row (outcome `purged`, the row counts in its detail)
 * at the batch's current version; a dry run writes nothing and answers what a purge would change.
 */
export async function purgeExpiredBatches(db: Db, request: RetentionRequest): Promise<RetentionReport> {
  const at = request.now.toISOString();
  const cutoff = new Date(request.now.getTime() - request.retentionDays * DAY_MS).toISOString();
  const dryRun = request.dryRun ?? false;
  const limit = request.limit ?? 100;
  const states = [...FINAL_STATES, READY];
  const finished = (await retentionCandidates(db, cutoff, states, RETENTION_EVENT, REDACTED)).filter((c) =>
    batchFinished(c.state, c.pipeline_state),
  );
  const batches: PurgedBatch[] = [];
  for (const candidate of finished.slice(0, limit)) {
    const purged = await purgeBatchPersonalData(db, candidate.batch_id, { purgedEvent: RETENTION_EVENT, redacted: REDACTED }, (found) => {
      const { batch } = found;
      // Locked now: it may have changed since the candidates were read.
      const stillDue = !found.purged && batchFinished(batch.state, batch.pipeline_state) && iso(batch.updated_at) < cutoff;
      if (!stillDue) return { write: null, answer: null };
      const changes = redaction(found);
      const entry: PurgedBatch = {
        batch_id: batch.batch_id,
        state: batch.state,
        last_changed_at: iso(batch.updated_at),
        rows: countsOf(changes),
      };
      if (dryRun) return { write: null, answer: entry };
      const record = {
        event_type: RETENTION_EVENT,
        actor: RETENTION_ACTOR,
        outcome: RETENTION_OUTCOME,
        at,
        detail: { retention_days: request.retentionDays, cutoff, last_changed_at: entry.last_changed_at, rows: entry.rows },
      };
      return { write: { ...changes, record }, answer: entry };
    });
    if (purged) batches.push(purged);
  }
  const totals = noRows();
  for (const b of batches) for (const key of Object.keys(totals) as Array<keyof RetentionRows>) totals[key] += b.rows[key];
  return {
    dry_run: dryRun,
    retention_days: request.retentionDays,
    cutoff,
    at,
    batches,
    totals,
    remaining: Math.max(0, finished.length - limit),
  };
}
