import { unknownStudentEmail } from '../machines/domain.ts';
import type { StudentInfo } from '../machines/events.ts';
import type { Db } from '../db/client.ts';
import { type BurstActor, loadBurstActors, studentsById, unknownStudentsOf } from '../db/burst.ts';
import { writeTransitions } from '../db/burst-writes.ts';
import { recordRefusal } from '../db/transitions.ts';
import { type ApplyOptions, applyEvent, duplicateOf } from './apply.ts';
import { validationTimeout } from './commands.ts';
import type { Lookups } from './lookups.ts';
import { type TransitionPlan, planTransition } from './plan.ts';
import type { ApplyOutcome, EventRequest } from './requests.ts';
import { ASSOCIATION_ROWS_SINCE, restoreBatchSnapshot } from './snapshots.ts';
import { unknownStudentOf } from './students.ts';

/**
 * Deadline bursts, batched. N due deadlines cost a few reads (their N snapshots in one query, the
 * students their timeouts name in two more), N pure plans, and ONE transaction holding the N
 * writes as one set statement (db/burst-writes.ts), each batch still guarded by its row version,
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
  const restored = requests.flatMap((request) => {
    const actor = actors.get(request.batchId);
    // Missing batches and earlier answers are the single path's to report.
    if (!actor || actor.prior_response) {
      if (actor?.prior_response) settled.set(request, duplicateOf(request, actor.prior_response, actor.prior_fingerprint));
      return [];
    }
    return [{ request, actor, before: restoreBatchSnapshot(actor) }];
  });
  const lookups = await burstLookups(
    db,
    restored.map((r) => r.actor),
    restored.map((r) => r.before.context),
  );
  const at = options.now().toISOString();
  const planned: Array<{ request: EventRequest; actor: BurstActor; plan: TransitionPlan }> = [];
  for (const { request, actor, before } of restored) {
    const prepared = await request.build(before.context, lookups, at);
    if (!prepared.ok) {
      if ('notDueUntil' in prepared) settled.set(request, { kind: 'not_due', due_at: prepared.notDueUntil });
      continue;
    }
    const plan = planTransition({
      request,
      before,
      rowVersion: actor.version,
      event: prepared.event,
      ...(prepared.newStudents ? { newStudents: prepared.newStudents } : {}),
      at,
      ...(options.trace ? { trace: options.trace } : {}),
      storeEveryAssociation: actor.machine_version < ASSOCIATION_ROWS_SINCE,
    });
    planned.push({ request, actor, plan });
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

/** Answers a burst's builds from rows read for the whole burst: its deadline rows and students. */
async function burstLookups(
  db: Db,
  actors: BurstActor[],
  contexts: Array<{ class_id: string | null; associations: Record<string, { suggested_student_id: string | null }> }>,
): Promise<Lookups> {
  const deadlines = new Map(actors.map((a) => [`${a.batch_id}:${a.deadline_version}`, a.deadline_due_at]));
  const classIds = [...new Set(contexts.flatMap((c) => (c.class_id === null ? [] : [c.class_id])))];
  const existingUnknown = await unknownStudentsOf(
    db,
    classIds.map((classId) => ({ classId, email: unknownStudentEmail(classId) })),
  );
  const named = contexts.flatMap((c) => Object.values(c.associations).flatMap((a) => a.suggested_student_id ?? []));
  const known = await studentsById(db, [...new Set([...named, ...existingUnknown.values()])]);
  const byId = new Map(known.map((s) => [s.id, s]));
  // A student may be in several classes: one row per membership.
  const memberships = new Set(known.map((s) => `${s.class_id}:${s.id}`));
  const unknownByClass = new Map(classIds.map((classId) => [classId, unknownStudentOf(classId, existingUnknown.get(classId) ?? null)]));
  const inClass = (classId: string | null, id: string) => classId !== null && memberships.has(`${classId}:${id}`);
  return {
    async deadlineDueAt(batchId, version) {
      const due = deadlines.get(`${batchId}:${version}`);
      return due === undefined || due === null ? null : new Date(due).toISOString();
    },
    async studentsOfClass(classId, ids) {
      return new Set(ids.filter((id) => inClass(classId, id)));
    },
    async rosterOf(classId, ids) {
      const roster: Record<string, StudentInfo> = {};
      for (const id of ids) {
        const s = byId.get(id);
        if (s && inClass(classId, id)) roster[id] = { first_name: s.first_name, last_name: s.last_name, email: s.email };
      }
      return roster;
    },
    async unknownStudentFor(classId) {
      const unknown = unknownByClass.get(classId) ?? unknownStudentOf(classId, null);
      unknownByClass.set(classId, unknown);
      return unknown;
    },
    async calendarOf() {
      // A burst only fires timeouts; a deadline is counted where suggestions arrive, never here.
      throw new Error('a deadline burst does not count new deadlines');
    },
  };
}
