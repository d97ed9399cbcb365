import type { BatchContext } from '../machines/batch.ts';
import type { CreditCheck } from '../machines/events.ts';
import type { Phase } from '../machines/pipelines.ts';

/**
 * The credit question the real orchestrator asks before a pipeline starts (`PipelineCreditGuard`):
 * what the phases cost, and whether the entitlements service allows it. Only CJ comparisons and AI
 * feedback calls are billable (`PipelineCostStrategy`); spellcheck and NLP are free.
 */
export type CreditChecker = (
  batch: Pick<BatchContext, 'batch_id' | 'owner_id' | 'org_id' | 'correlation_id' | 'essays' | 'expected_essay_count'>,
  phases: Phase[],
) => Promise<CreditCheck>;

export function requirementsOf(phases: Phase[], essayCount: number): Record<string, number> {
  const requirements: Record<string, number> = {};
  if (phases.includes('cj_assessment') && essayCount > 1) requirements.cj_comparison = (essayCount * (essayCount - 1)) / 2;
  if (phases.includes('ai_feedback') && essayCount > 0) requirements.ai_feedback_generation = essayCount;
  return requirements;
}

const essayCountOf = (batch: Parameters<CreditChecker>[0]) => (batch.essays.length > 0 ? batch.essays.length : batch.expected_essay_count);

/** PIPELINE_CREDITS=allow: every pipeline is allowed; the figures are still computed for the answer. */
export const allowEveryPipeline: CreditChecker = async (batch, phases) => {
  const resource_breakdown = requirementsOf(phases, essayCountOf(batch));
  const required = Object.values(resource_breakdown).reduce((a, b) => a + b, 0);
  return { allowed: true, required_credits: required, available_credits: 0, resource_breakdown };
};

export class EntitlementsUnavailable extends Error {
  override name = 'EntitlementsUnavailable';
}

/**
 * ENTITLEMENTS_URL: asks the real entitlements service as the real orchestrator's client does
 * (`POST {url}/v1/entitlements/check-credits/bulk`, 200 allowed, 402 or 429 denied with a body).
 * Anything else is an outage, thrown, so no pipeline starts on a guess.
 */
export function entitlementsChecker(baseUrl: string, timeoutMs = 5_000): CreditChecker {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/entitlements/check-credits/bulk`;
  return async (batch, phases) => {
    const resource_breakdown = requirementsOf(phases, essayCountOf(batch));
    const required = Object.values(resource_breakdown).reduce((a, b) => a + b, 0);
    if (required === 0) return { allowed: true, required_credits: 0, available_credits: 0, resource_breakdown };
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correlation-id': batch.correlation_id },
        body: JSON.stringify({
          user_id: batch.owner_id,
          org_id: batch.org_id,
          requirements: resource_breakdown,
          correlation_id: batch.correlation_id,
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new EntitlementsUnavailable(`entitlements service at ${url} did not answer: ${(error as Error).message}`);
    }
    if (![200, 402, 429].includes(response.status)) throw new EntitlementsUnavailable(`entitlements service answered ${response.status}`);
    const body = (await response.json().catch(() => null)) as {
      allowed?: unknown;
      available_credits?: unknown;
      denial_reason?: unknown;
    } | null;
    if (body === null || typeof body !== 'object') throw new EntitlementsUnavailable('entitlements service answered without a JSON body');
    const available = Number(body.available_credits ?? 0) || 0;
    if (body.allowed === true) return { allowed: true, required_credits: required, available_credits: available, resource_breakdown };
    const reason = typeof body.denial_reason === 'string' && body.denial_reason !== '' ? body.denial_reason : 'insufficient_credits';
    return { allowed: false, denial_reason: reason, required_credits: required, available_credits: available, resource_breakdown };
  };
}
