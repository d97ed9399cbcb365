import type { Context } from 'hono';
import type { ApplyOutcome } from '../app/apply.ts';
import { notFound, problem, validationProblem } from './problem.ts';

/** Maps the application layer's outcome to HTTP: the one translation of domain results. */
export function sendOutcome(c: Context, outcome: ApplyOutcome, batchId: string, okStatus: 200 | 202 = 200): Response {
  switch (outcome.kind) {
    case 'applied':
    case 'duplicate':
      return c.json(outcome.body, okStatus);
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
        detail: `Batch ${batchId} is in state ${outcome.state}, which does not accept ${outcome.event}.`,
        state: outcome.state,
        status_value: outcome.status,
        event: outcome.event,
        allowed_events: outcome.allowed_events,
        version: outcome.version,
        ...outcome.extra,
      });
  }
}
