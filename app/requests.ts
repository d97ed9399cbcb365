import type { BatchContext } from '../machines/batch.ts';
import type { BatchEvent } from '../machines/events.ts';
import type { AssociationSelection, DeadlineWrite, StudentRow } from '../db/transition-types.ts';
import type { Lookups } from './lookups.ts';
import type { TraceCarrier } from './tracing.ts';

/** The application layer's requests and answers, shared by the planner, the writer and adapters. */

/** What a caller asks the application layer to apply to one batch. */
export interface EventRequest {
  batchId: string;
  /** Idempotency key: an inbound event id, a job id, or a namespaced Idempotency-Key. */
  eventId: string;
  /**
   * What was asked, hashed (app/idempotency.ts): the same event id with another fingerprint is a
   * reused key, refused instead of answered with the first request's result. Timers have none.
   */
  fingerprint?: string;
  /** Who caused it, for the history: `service`, a teacher id, or `timeout`. */
  actor: string;
  correlationId: string | null;
  /** Teacher calls: the batch must be theirs, or it does not exist for them. */
  ownerId?: string;
  /**
   * The association records the event works on, loaded into the context's working set: a
   * decision's essays (all of them if it may settle the batch), or all. None when absent.
   */
  associations?: AssociationSelection;
  /** Builds the machine event from the current context, consulting only the read-only port. */
  build(context: BatchContext, lookups: Lookups, at: string): Promise<Prepared> | Prepared;
  /** The W3C trace context the cause carried (inbound metadata or the HTTP traceparent header). */
  trace?: TraceCarrier;
  /** Extra facts for the audit row, e.g. which scheduler fired a deadline. */
  auditDetail?: Record<string, unknown>;
  /** Extra answer fields, e.g. per-item results, from the states before and after. */
  respond?(before: BatchContext, after: BatchContext): Record<string, unknown>;
}

export type Prepared =
  | { ok: true; event: BatchEvent; newStudents?: StudentRow[] }
  | { ok: false; errors: Array<{ path: string; message: string }> }
  /** A timer fired before its deadline (an operator promoted the job, a clock ran ahead). */
  | { ok: false; notDueUntil: string };

export interface AppliedBody {
  event_id: string;
  batch_id: string;
  state: string;
  status: string;
  version: number;
  duplicate: boolean;
  [extra: string]: unknown;
}

export type ApplyOutcome =
  | { kind: 'applied'; body: AppliedBody; deadline: DeadlineWrite; event_type: string; from_state: string }
  | { kind: 'duplicate'; body: AppliedBody }
  | { kind: 'key_reused'; event_id: string }
  | { kind: 'not_due'; due_at: string }
  | { kind: 'not_found' }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> }
  | { kind: 'conflict'; detail: string }
  | {
      kind: 'refused';
      state: string;
      status: string;
      event: string;
      allowed_events: string[];
      version: number;
      late: boolean;
      extra: Record<string, unknown>;
    };
