import type { Context } from 'hono';
import type { ApplyOutcome } from '../app/apply.ts';
import { PROBLEM_KINDS, notFound, problem, validationProblem } from './problem.ts';

/** Maps the application layer's outcome to HTTP: the one translation of domain results. */
export function sendOutcome(c: Context, outcome: ApplyOutcome, batchId: string, okStatus: 200 | 202 = 200): Response {
  switch (outcome.kind) {
    case 'applied':
    case 'duplicate':
      return c.json(outcome.body, okStatus);
    case 'key_reused':
      return problem(c, {
        status: 422,
        title: PROBLEM_KINDS[422].title,
        detail: `The id ${outcome.event_id.slice(0, 200)} was used before for a different request; nothing was applied. Send a new key for a new request.`,
      });
    case 'not_due':
      return problem(c, { status: 409, title: 'Not due', detail: `The deadline is not due before ${outcome.due_at}; nothing changed.` });
    case 'not_found':
      return notFound(c, `Batch ${batchId}`);
    case 'invalid':
      return validationProblem(c, outcome.errors, 'The event does not fit this batch.');
    case 'conflict':
      return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
    case 'refused':
      return problem(c, {
        status: 409,
        title: 'Transition refused',
        detail: refusalDetail(batchId, outcome),
        state: outcome.state,
        status_value: outcome.status,
        event: outcome.event,
        allowed_events: outcome.allowed_events,
        version: outcome.version,
        ...outcome.extra,
      });
  }
}

/**
 * The reason where a client reads first. When the state does accept the event, its conditions
 * failed (e.g. every named association is already decided), and the per-item reasons say why.
 */
function refusalDetail(batchId: string, outcome: Extract<ApplyOutcome, { kind: 'refused' }>): string {
  if (!outcome.allowed_events.includes(outcome.event)) {
    return `Batch ${batchId} is in state ${outcome.state}, which does not accept ${outcome.event}.`;
  }
  const results = (outcome.extra.results ?? []) as Array<{ essay_id?: string; outcome?: string; reason?: string }>;
  const reasons = results.filter((r) => r.outcome === 'refused').map((r) => `essay ${r.essay_id}: ${r.reason}`);
  const why =
    reasons.length > 0
      ? reasons.slice(0, 5).join('; ') + (reasons.length > 5 ? `; and ${reasons.length - 5} more` : '')
      : 'its conditions do not hold';
  return `Batch ${batchId} in state ${outcome.state} accepts ${outcome.event}, but refused this one: ${why}.`;
}
