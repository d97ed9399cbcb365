import { z } from 'zod';

/**
 * Pipelines as the real batch conductor resolves them (`services/batch_conductor_service/pipelines.yaml`)
 * and the phase bookkeeping the real orchestrator keeps (`ProcessingPipelineState`). Pure data and
 * rules: the batch machine decides with them, the internal pipeline-state door reports them.
 */

export const PHASES = ['spellcheck', 'nlp', 'cj_assessment', 'ai_feedback'] as const;
export type Phase = (typeof PHASES)[number];

/** Every pipeline the real conductor defines, in phase order; each starts with spellcheck. */
export const PIPELINE_PHASES = {
  nlp: ['spellcheck', 'nlp'],
  cj_assessment: ['spellcheck', 'cj_assessment'],
  ai_feedback: ['spellcheck', 'nlp', 'ai_feedback'],
} as const satisfies Record<string, readonly Phase[]>;

/** `PipelineExecutionStatus`, the real per-phase status. */
export const PHASE_STATUSES = [
  'requested_by_user',
  'pending_dependencies',
  'dispatch_initiated',
  'in_progress',
  'completed_successfully',
  'completed_with_partial_success',
  'failed',
  'skipped_due_to_dependency_failure',
  'skipped_by_user_config',
  'cancelled',
] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export interface PhaseDetail {
  status: PhaseStatus;
  started_at: string | null;
  completed_at: string | null;
}

/** What the batch keeps of its pipelines (v4): the phases of the last started pipeline, and each phase's status. */
export interface PipelineState {
  requested_pipelines: Phase[];
  phases: Partial<Record<Phase, PhaseDetail>>;
  /** Null only for state carried over from v3, which kept no time. */
  last_updated: string | null;
}

const DONE: ReadonlySet<PhaseStatus> = new Set(['completed_successfully', 'completed_with_partial_success']);
const RUNNING: ReadonlySet<PhaseStatus> = new Set(['dispatch_initiated', 'in_progress']);
const FINISHED: ReadonlySet<PhaseStatus> = new Set([...DONE, 'failed']);

/** The phases of a pipeline still to run: the conductor prunes those already completed. */
export function phasesToRun(state: PipelineState | null, pipeline: keyof typeof PIPELINE_PHASES): Phase[] {
  return PIPELINE_PHASES[pipeline].filter((phase) => !DONE.has(state?.phases[phase]?.status ?? 'requested_by_user'));
}

/**
 * The real orchestrator's `_has_active_pipeline`: a phase is dispatched or running and the pipeline
 * is not in its last phase (a request during the last phase may queue the next pipeline).
 */
export function pipelineActive(state: PipelineState | null): boolean {
  if (state === null || state.requested_pipelines.length === 0) return false;
  const detail = (phase: Phase) => state.phases[phase]?.status;
  const active = state.requested_pipelines.filter((p) => RUNNING.has(detail(p) ?? 'requested_by_user'));
  if (active.length === 0) return false;
  if (state.requested_pipelines.every((p) => FINISHED.has(detail(p) ?? 'requested_by_user'))) return false;
  return !(active.length === 1 && active[0] === state.requested_pipelines.at(-1));
}

const ENDED: ReadonlySet<PhaseStatus> = new Set([...FINISHED, 'skipped_due_to_dependency_failure', 'skipped_by_user_config', 'cancelled']);

/**
 * Whether the last started pipeline is over: no phase dispatched or running, and every phase ended
 * or one failed (the phases after a failure never run). False when no pipeline was started.
 */
export function pipelineEnded(state: PipelineState | null): boolean {
  const statuses = (state?.requested_pipelines ?? []).map((phase) => state?.phases[phase]?.status ?? 'requested_by_user');
  if (statuses.length === 0 || statuses.some((s) => RUNNING.has(s))) return false;
  return statuses.every((s) => ENDED.has(s)) || statuses.includes('failed');
}

/**
 * Whether a request for `pipeline` now would start nothing new: a pipeline is active, or a phase it
 * would run is already dispatched or running (the real orchestrator lets a request through while the
 * last phase runs, to queue the next pipeline; one that would send that same phase again is skipped).
 */
export function requestIsRepeat(state: PipelineState | null, pipeline: keyof typeof PIPELINE_PHASES): boolean {
  return (
    pipelineActive(state) || phasesToRun(state, pipeline).some((phase) => RUNNING.has(state?.phases[phase]?.status ?? 'requested_by_user'))
  );
}

/** The state after dispatching the first of `phases`; the rest wait on it. */
export function dispatched(state: PipelineState | null, phases: Phase[], at: string | null): PipelineState {
  const [first, ...rest] = phases;
  const next: Partial<Record<Phase, PhaseDetail>> = { ...state?.phases };
  if (first) next[first] = { status: 'dispatch_initiated', started_at: at, completed_at: null };
  for (const phase of rest) next[phase] = { status: 'pending_dependencies', started_at: null, completed_at: null };
  return { requested_pipelines: phases, phases: next, last_updated: at };
}

/** `ELSBatchPhaseOutcomeV1.phase_status` (a BatchStatus) as the phase's execution status. */
export const PhaseOutcomeStatus = z.enum(['completed_successfully', 'completed_with_failures', 'failed_critically']);
export type PhaseOutcomeStatus = z.infer<typeof PhaseOutcomeStatus>;

export function phaseFinished(state: PipelineState | null, phase: Phase, outcome: PhaseOutcomeStatus, at: string): PipelineState {
  const status: PhaseStatus =
    outcome === 'completed_successfully'
      ? 'completed_successfully'
      : outcome === 'completed_with_failures'
        ? 'completed_with_partial_success'
        : 'failed';
  const previous = state?.phases[phase];
  return {
    requested_pipelines: state?.requested_pipelines ?? [phase],
    phases: { ...state?.phases, [phase]: { status, started_at: previous?.started_at ?? null, completed_at: at } },
    last_updated: at,
  };
}
