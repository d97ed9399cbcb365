import type { Db } from '../db/client.ts';
import { loadBatchActor } from '../db/actor-load.ts';
import type { RequestedPipeline } from '../machines/events.ts';
import { PHASES, type PipelineState, phasesToRun, requestIsRepeat } from '../machines/pipelines.ts';
import type { CreditChecker } from './credits.ts';
import { restoreBatchSnapshot } from './snapshots.ts';

/**
 * The orchestrator's synchronous answers to other services: the pipeline state the File Service
 * checks before every upload, and the preflight the API gateway asks before it publishes a
 * pipeline request. Both read the batch's snapshot, the truth; neither changes anything.
 */

/** `ProcessingPipelineState` as the real orchestrator reports it: every phase, null until requested. */
function processingPipelineState(batchId: string, state: PipelineState | null, fallbackTime: string) {
  const phases = Object.fromEntries(
    PHASES.map((phase) => {
      const detail = state?.phases[phase];
      return [
        phase,
        detail
          ? {
              status: detail.status,
              essay_counts: { total: 0, successful: 0, failed: 0, pending_dispatch_or_processing: 0 },
              started_at: detail.started_at,
              completed_at: detail.completed_at,
              error_info: null,
              progress_percentage: null,
            }
          : null,
      ];
    }),
  );
  return {
    batch_id: batchId,
    requested_pipelines: state?.requested_pipelines ?? [],
    ...phases,
    last_updated: state?.last_updated ?? fallbackTime,
  };
}

async function loadContext(db: Db, batchId: string) {
  const actor = await loadBatchActor(db, batchId, null, false);
  if (actor === null) return null;
  return restoreBatchSnapshot(actor).context;
}

/** `GET /internal/v1/batches/{id}/pipeline-state`: `{batch_id, pipeline_state, user_id}`, or null for an unknown batch. */
export async function pipelineStateOf(db: Db, batchId: string, now: Date) {
  const context = await loadContext(db, batchId);
  if (context === null) return null;
  return {
    batch_id: batchId,
    pipeline_state: processingPipelineState(batchId, context.pipeline_state, now.toISOString()),
    user_id: context.owner_id,
  };
}

export type PreflightAnswer =
  | { kind: 'not_found' }
  | {
      kind: 'answered';
      allowed: boolean;
      denial_reason: string | null;
      requested_pipeline: RequestedPipeline;
      resolved_pipeline: string[];
      required_credits: number;
      available_credits: number;
      resource_breakdown: Record<string, number>;
    };

/**
 * The preflight: the phases the request would run (completed ones pruned, as the conductor does)
 * and what the credit check says of them. A request that would start nothing resolves to no phase
 * and is allowed: the pipeline request itself is then answered as skipped.
 */
export async function preflight(db: Db, batchId: string, pipeline: RequestedPipeline, credits: CreditChecker): Promise<PreflightAnswer> {
  const context = await loadContext(db, batchId);
  if (context === null) return { kind: 'not_found' };
  const phases = requestIsRepeat(context.pipeline_state, pipeline) ? [] : phasesToRun(context.pipeline_state, pipeline);
  const check =
    phases.length === 0
      ? { allowed: true as const, required_credits: 0, available_credits: 0, resource_breakdown: {} }
      : await credits(context, phases);
  return {
    kind: 'answered',
    allowed: check.allowed,
    denial_reason: check.allowed ? null : check.denial_reason,
    requested_pipeline: pipeline,
    resolved_pipeline: phases,
    required_credits: check.required_credits,
    available_credits: check.available_credits,
    resource_breakdown: check.resource_breakdown,
  };
}
