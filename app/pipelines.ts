import type { BatchContext } from '../machines/batch.ts';
import type { BatchEvent, PromptPayload, RequestedPipeline } from '../machines/events.ts';
import { phasesToRun, requestIsRepeat } from '../machines/pipelines.ts';
import type { CreditChecker } from './credits.ts';

export interface PipelineAsk {
  pipeline: RequestedPipeline;
  requestedBy: string;
  promptPayload: PromptPayload | null;
  isRetry: boolean;
}

/**
 * The machine event of a pipeline request, from the gateway's Kafka command or a teacher's HTTP
 * call alike. Credits are asked only when something would start: a request the machine will skip
 * (a pipeline active, nothing left to run) costs nothing.
 */
export async function pipelineRequested(context: BatchContext, ask: PipelineAsk, credits: CreditChecker, at: string): Promise<BatchEvent> {
  const phases = phasesToRun(context.pipeline_state, ask.pipeline);
  const skipped = requestIsRepeat(context.pipeline_state, ask.pipeline) || phases.length === 0;
  const check = skipped
    ? { allowed: true as const, required_credits: 0, available_credits: 0, resource_breakdown: {} }
    : await credits(context, phases);
  return {
    type: 'PIPELINE_REQUESTED',
    at,
    pipeline: ask.pipeline,
    requested_by: ask.requestedBy,
    prompt_payload: ask.promptPayload,
    is_retry: ask.isRetry,
    credits: check,
  };
}
