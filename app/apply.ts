import { loadBatchActor, priorResponse } from '../db/actor-load.ts';
import type { Db } from '../db/client.ts';
import { recordRefusal, writeTransition } from '../db/transition-writers.ts';
import { type Lookups, databaseLookups, withRoster } from './lookups.ts';
import { type PrepareOptions, type Restored, prepareTransitions } from './prepare.ts';
import type { AppliedBody, ApplyOutcome, EventRequest } from './requests.ts';
import { ASSOCIATION_ROWS_SINCE } from './snapshots.ts';
import { classifyWriteError } from './write-errors.ts';

export { SOURCE_SERVICE } from './envelope.ts';
export type { AppliedBody, ApplyOutcome, EventRequest, Prepared } from './requests.ts';

export type ApplyOptions = PrepareOptions;

const MAX_ATTEMPTS = 8;

/**
 * Applies one event to one batch actor: idempotency check, version check, pure transition, and the
 * snapshot, projections, history, outbox and deadline written in one statement. The first attempt is
 * optimistic (read, then write guarded by the row version); after a lost race the next attempts
 * lock the row, so hot batches serialise instead of spinning.
 */
export async function applyEvent(db: Db, request: EventRequest, options: ApplyOptions): Promise<ApplyOutcome> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const outcome =
      attempt === 0
        ? await attemptOnce(db, request, options, false)
        : await db.transaction((tx) => attemptOnce(tx as unknown as Db, request, options, true));
    if (outcome !== 'retry') return outcome;
  }
  throw new Error(`batch ${request.batchId}: gave up after ${MAX_ATTEMPTS} conflicting attempts`);
}

async function attemptOnce(db: Db, request: EventRequest, options: ApplyOptions, lock: boolean): Promise<ApplyOutcome | 'retry'> {
  const loaded = await loadBatchActor(db, request.batchId, request.eventId, lock, request.associations);
  if (!loaded || (request.ownerId !== undefined && loaded.owner_id !== request.ownerId)) return { kind: 'not_found' };
  if (loaded.prior_response) return duplicateOf(request, loaded.prior_response, loaded.prior_fingerprint);

  const prepared = (await prepareTransitions(db, [{ request, actor: loaded }], () => (one) => lookupsFor(db, one), options))[0]!;
  if (prepared.kind === 'unready') return prepared.outcome;
  const { plan, insertsStudents } = prepared;
  if (plan.kind === 'refused') {
    return (await recordRefusal(db, request.batchId, loaded.version, plan.write)) ? plan.body : 'retry';
  }
  try {
    if (!(await writeTransition(db, plan.write))) return 'retry';
  } catch (error) {
    const kind = classifyWriteError(error, { insertsStudents, locked: lock });
    if (kind === 'duplicate') {
      const prior = await priorResponse(db, request.eventId);
      return duplicateOf(request, prior.response, prior.fingerprint);
    }
    if (kind === 'conflict') {
      return { kind: 'conflict', detail: 'An essay of this event is already associated with a student in another batch.' };
    }
    if (kind === 'retry') return 'retry';
    throw error;
  }
  return { kind: 'applied', body: plan.body, deadline: plan.write.deadline, event_type: plan.event_type, from_state: plan.from_state };
}

/** The read-only port; a decision's roster came with the snapshot and needs no round trip. */
function lookupsFor(db: Db, { request, actor, before }: Restored): Lookups {
  const base = databaseLookups(db);
  const asked = request.associations;
  // Before v3 the suggested students sit in the snapshot, not in the rows the roster read joins.
  if (!actor.roster || asked === undefined || asked === 'all' || actor.machine_version < ASSOCIATION_ROWS_SINCE) return base;
  const suggested = asked.essays.flatMap((id) => before.context.associations[id]?.suggested_student_id ?? []);
  return withRoster(base, before.context.class_id, new Set([...(asked.students ?? []), ...suggested]), actor.roster);
}

/** The first answer again, unless the event id (or Idempotency-Key) now names another request. */
export function duplicateOf(request: EventRequest, response: unknown, priorFingerprint: string | null): ApplyOutcome {
  const reused =
    (request.fingerprint !== undefined && priorFingerprint !== null && request.fingerprint !== priorFingerprint) ||
    (response as AppliedBody).batch_id !== request.batchId;
  if (reused) return { kind: 'key_reused', event_id: request.eventId };
  return { kind: 'duplicate', body: { ...(response as AppliedBody), duplicate: true } };
}
