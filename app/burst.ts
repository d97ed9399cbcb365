import type { Db } from '../db/client.ts';
import { type BurstActor, loadBurstActors } from '../db/burst.ts';
import { recordRefusal, writeTransitions } from '../db/transition-writers.ts';
import { type ApplyOptions, applyEvent, duplicateOf } from './apply.ts';
import { validationTimeout } from './commands.ts';
import { burstLookups } from './lookups.ts';
import type { TransitionPlan } from './plan.ts';
import { prepareTransitions } from './prepare.ts';
import type { ApplyOutcome, EventRequest } from './requests.ts';

/**
 * Deadline bursts, batched. N due deadlines cost a few reads (their N snapshots in one query, the
 * students their timeouts name in two more), N pure plans (app/prepare.ts, as for one event), and ONE
 * transaction holding the N writes as one set statement (db/transition-writers.ts), each batch still guarded by its row version,
 * with its history, outbox, association and processed-event rows. What the batch cannot settle goes to the
 * single-event path (applyEvent) one by one: a plan whose row version moved, anything not a plain
 * plan (a duplicate, not due, not found), and, when the shared transaction fails, all of them. So a
 * batch that loses its race or breaks a constraint costs a retry, never another batch's deadline.
 */

export interface DueTimer {
  batch_id: string;
  version: number;
}

export interface FiredTimer {
  batch_id: string;
  request: EventRequest;
  result: { outcome: ApplyOutcome } | { error: unknown };
  /** Settled by the shared transaction, or by the single-event path after it could not be. */
  path: 'burst' | 'single';
}

export interface BurstOptions extends ApplyOptions {
  firedBy: 'bullmq' | 'sweep';
  clockSkewMs: number;
}

export async function fireTimerBurst(db: Db, timers: DueTimer[], options: BurstOptions): Promise<FiredTimer[]> {
  const requests = timers.map((t) => validationTimeout(t.batch_id, t.version, options.firedBy, options.clockSkewMs));
  const settled = new Map<EventRequest, ApplyOutcome>();
  try {
    await applyTogether(db, requests, options, settled);
  } catch {
    // The shared transaction failed and wrote nothing: every request takes the single-event path.
    settled.clear();
  }
  return Promise.all(
    requests.map(async (request): Promise<FiredTimer> => {
      const done = settled.get(request);
      if (done) return { batch_id: request.batchId, request, result: { outcome: done }, path: 'burst' };
      try {
        return { batch_id: request.batchId, request, result: { outcome: await applyEvent(db, request, options) }, path: 'single' };
      } catch (error) {
        return { batch_id: request.batchId, request, result: { error }, path: 'single' };
      }
    }),
  );
}

/** Plans and writes what it can in one transaction; fills `settled` only once that committed. */
async function applyTogether(db: Db, requests: EventRequest[], options: BurstOptions, settled: Map<EventRequest, ApplyOutcome>) {
  const actors = new Map(
    (
      await loadBurstActors(
        db,
        requests.map((r) => ({ batchId: r.batchId, eventId: r.eventId })),
      )
    ).map((a) => [a.batch_id, a]),
  );
  const loaded = requests.flatMap((request) => {
    const actor = actors.get(request.batchId);
    // Missing batches and earlier answers are the single path's to report.
    if (!actor || actor.prior_response) {
      if (actor?.prior_response) settled.set(request, duplicateOf(request, actor.prior_response, actor.prior_fingerprint));
      return [];
    }
    return [{ request, actor }];
  });
  const prepared = await prepareTransitions(
    db,
    loaded,
    async (restored) => {
      const lookups = await burstLookups(
        db,
        restored.map((r) => r.actor),
        restored.map((r) => r.before.context),
      );
      return () => lookups;
    },
    options,
  );
  const planned: Array<{ request: EventRequest; actor: BurstActor; plan: TransitionPlan }> = [];
  for (const p of prepared) {
    if (p.kind === 'planned') planned.push(p);
    // An invalid event is the single path's to report.
    else if (p.outcome.kind === 'not_due') settled.set(p.request, p.outcome);
  }
  insertEachUnknownStudentOnce(planned.map((p) => p.plan));

  // One applied write per batch goes into the set statement; a second one (two timers of one batch
  // in one burst) is the single path's, after the first has committed.
  const applied = new Map<string, TransitionPlan & { kind: 'applied' }>();
  for (const { plan } of planned) if (plan.kind === 'applied' && !applied.has(plan.write.batchId)) applied.set(plan.write.batchId, plan);
  const { written, refusals } = await db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    // Sent together: postgres.js pipelines them on the transaction's connection, in this order.
    const [sets, ...refused] = await Promise.all([
      writeTransitions(
        t,
        [...applied.values()].map((plan) => plan.write),
      ),
      ...planned.map(({ request, actor, plan }) =>
        plan.kind === 'refused' ? recordRefusal(t, request.batchId, actor.version, plan.write) : Promise.resolve(false),
      ),
    ]);
    return { written: sets, refusals: refused };
  });
  planned.forEach(({ request, plan }, i) => {
    // Not written: its row version moved, or it was a second write of its batch. The single path reads it again.
    if (plan.kind === 'applied' ? applied.get(plan.write.batchId) !== plan || !written.has(plan.write.batchId) : !refusals[i]) return;
    settled.set(
      request,
      plan.kind === 'applied'
        ? { kind: 'applied', body: plan.body, deadline: plan.write.deadline, event_type: plan.event_type, from_state: plan.from_state }
        : plan.body,
    );
  });
}

/**
 * Timeouts of one class that found no UNKNOWN student all name the same new one (burstLookups
 * makes it once per class); only the first write that links it inserts it, the later ones, in the
 * same transaction, find it there.
 */
function insertEachUnknownStudentOnce(plans: TransitionPlan[]): void {
  const inserted = new Set<string>();
  for (const plan of plans) {
    if (plan.kind !== 'applied') continue;
    plan.write.newStudents = plan.write.newStudents.filter((s) => !inserted.has(s.id));
    for (const s of plan.write.newStudents) inserted.add(s.id);
  }
}
