import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApplyObservation, ApplyObserver } from '../app/service.ts';
import { BATCH_MACHINE_ID } from '../machines/batch.ts';
import type { PinoLogger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** What one `apply` contributes to a log line. */
export interface AppliedEventLog {
  batch_id: string;
  event_type: string | null;
  from_state: string | null;
  to_state: string | null;
  outcome: string;
  /** The event's own correlation id (an envelope's, or the request's), when there is one. */
  correlation_id: string | null;
  duration_ms: number;
}

/**
 * The applications made while serving one HTTP request. The request logger opens the scope and
 * writes them into its one line; outside a request (worker, sweep) each application logs itself.
 * This keeps the application layer free of logging: it only calls its observer.
 */
const requestScope = new AsyncLocalStorage<AppliedEventLog[]>();

export function collectApplications(next: () => Promise<void>): Promise<AppliedEventLog[]> {
  const collected: AppliedEventLog[] = [];
  return requestScope.run(collected, next).then(() => collected);
}

/** Teacher ids are unbounded, so metrics only tell callers apart by kind. */
function actorKind(actor: string): 'service' | 'timeout' | 'teacher' {
  return actor === 'service' || actor === 'timeout' ? actor : 'teacher';
}

function firedBy(observation: ApplyObservation): string | null {
  const value = observation.request.auditDetail?.fired_by;
  return typeof value === 'string' ? value : null;
}

function count(metrics: Metrics, o: ApplyObservation): void {
  const { outcome } = o;
  if (outcome.kind === 'applied') {
    metrics.transitionsApplied.inc({ machine: BATCH_MACHINE_ID, event: o.event_type!, from_state: o.from_state!, to_state: o.to_state! });
    if (outcome.deadline.kind === 'set') metrics.deadlinesScheduled.inc();
  } else if (outcome.kind === 'refused') {
    metrics.transitionsRefused.inc({ machine: BATCH_MACHINE_ID, event: outcome.event, state: outcome.state });
  } else if (outcome.kind === 'duplicate') {
    metrics.duplicateEvents.inc({ actor: actorKind(o.request.actor) });
  }
  const scheduler = firedBy(o);
  if (scheduler !== null) {
    const late = outcome.kind === 'refused' && outcome.late;
    metrics.deadlinesFired.inc({ fired_by: scheduler, outcome: late ? 'late' : outcome.kind });
    if (late) metrics.deadlinesLate.inc({ fired_by: scheduler });
  }
}

export function appliedEventLog(o: ApplyObservation): AppliedEventLog {
  return {
    batch_id: o.request.batchId,
    event_type: o.event_type,
    from_state: o.from_state,
    to_state: o.to_state,
    outcome: o.outcome.kind,
    correlation_id: o.request.correlationId,
    duration_ms: Math.round(o.duration_ms * 10) / 10,
  };
}

/** The service's observer: counts every outcome and logs it with the request or on its own. */
export function observeApplications(deps: { metrics: Metrics; logger: PinoLogger }): ApplyObserver {
  return (observation) => {
    try {
      count(deps.metrics, observation);
      const entry = appliedEventLog(observation);
      const scope = requestScope.getStore();
      if (scope) scope.push(entry);
      else
        deps.logger.info(
          { ...entry, actor: actorKind(observation.request.actor), fired_by: firedBy(observation) ?? undefined },
          `event ${entry.outcome}`,
        );
    } catch (error) {
      deps.logger.warn({ err: String(error) }, 'observing an application failed');
    }
  };
}
