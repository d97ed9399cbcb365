import type { BatchContext } from '../machines/batch.ts';
import { associationsNeeded } from '../machines/batch-rules.ts';
import { loadAllAssociations } from '../db/actor-load.ts';
import type { Db } from '../db/client.ts';
import type { LoadedActor } from '../db/transition-types.ts';
import type { Lookups } from './lookups.ts';
import { type TransitionPlan, planTransition } from './plan.ts';
import type { ApplyOutcome, EventRequest } from './requests.ts';
import { ASSOCIATION_ROWS_SINCE, type BatchSnapshot, migrateStoredBatch, resolveBatch } from './snapshots.ts';
import type { TraceCarrier } from './tracing.ts';

/**
 * Restore → build → plan: the preparation of a transition, the same for one event (app/apply.ts)
 * and for a deadline burst (app/burst.ts). Pure but for the reads: restoring may read the rest of
 * a batch's associations, building reads through the Lookups port. What it plans, the writers of
 * db/transition-writers.ts write.
 */

export interface Restored<A extends LoadedActor = LoadedActor> {
  request: EventRequest;
  actor: A;
  before: BatchSnapshot;
}

export type Preparation<A extends LoadedActor = LoadedActor> = Restored<A> &
  (
    | { kind: 'planned'; plan: TransitionPlan; insertsStudents: boolean }
    /** The event could not be built: not due yet, or invalid against the current state. */
    | { kind: 'unready'; outcome: Extract<ApplyOutcome, { kind: 'not_due' | 'invalid' }> }
  );

export interface PrepareOptions {
  now: () => Date;
  /** The trace context to put into the metadata of every event the transitions emit. */
  trace?: TraceCarrier;
}

/**
 * Restores each loaded actor, asks `lookupsFor` for the read-only port once all are restored (a
 * burst answers every build from rows it reads for the whole burst), then builds and plans each
 * event in order, all at one `now`.
 */
export async function prepareTransitions<A extends LoadedActor>(
  db: Db,
  loaded: Array<{ request: EventRequest; actor: A }>,
  lookupsFor: (restored: Array<Restored<A>>) => Promise<(one: Restored<A>) => Lookups> | ((one: Restored<A>) => Lookups),
  options: PrepareOptions,
): Promise<Array<Preparation<A>>> {
  const restored: Array<Restored<A>> = [];
  for (const { request, actor } of loaded) restored.push({ request, actor, before: await restore(db, request, actor) });
  const lookups = await lookupsFor(restored);
  const at = options.now().toISOString();
  const prepared: Array<Preparation<A>> = [];
  for (const one of restored) {
    const built = await one.request.build(one.before.context, lookups(one), at);
    if (!built.ok) {
      const outcome =
        'notDueUntil' in built
          ? { kind: 'not_due' as const, due_at: built.notDueUntil }
          : { kind: 'invalid' as const, errors: built.errors };
      prepared.push({ ...one, kind: 'unready', outcome });
      continue;
    }
    const plan = planTransition({
      request: one.request,
      before: one.before,
      rowVersion: one.actor.version,
      event: built.event,
      ...(built.newStudents ? { newStudents: built.newStudents } : {}),
      at,
      ...(options.trace ? { trace: options.trace } : {}),
      storeEveryAssociation: one.actor.machine_version < ASSOCIATION_ROWS_SINCE,
    });
    prepared.push({ ...one, kind: 'planned', plan, insertsStudents: (built.newStudents ?? []).length > 0 });
  }
  return prepared;
}

/**
 * The snapshot with the association records the event needs. A decision about some essays loads
 * theirs with the snapshot; only when it may leave nothing pending (and so announce every
 * association) does a second read fetch the rest. Rows written before v3 carry them all already.
 * The snapshot is migrated and restored once either way.
 */
async function restore(db: Db, request: EventRequest, loaded: LoadedActor): Promise<BatchSnapshot> {
  const migrated = migrateStoredBatch(loaded);
  const asked = request.associations;
  if (asked === undefined || asked === 'all' || loaded.machine_version < ASSOCIATION_ROWS_SINCE)
    return resolveBatch(migrated, loaded.associations);
  const counts = migrated.persisted.context.association_counts as BatchContext['association_counts'];
  if (associationsNeeded(counts, asked.essays) !== 'all') return resolveBatch(migrated, loaded.associations);
  return resolveBatch(migrated, await loadAllAssociations(db, request.batchId));
}
