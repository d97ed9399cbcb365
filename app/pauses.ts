import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { classBatchesAwaitingTeacher } from '../db/deadlines.ts';
import { classById } from '../db/roster.ts';
import type { ApplyOutcome, EventRequest } from './apply.ts';
import { pauseRequest, resumeRequest } from './commands.ts';

export type ClassPauseOutcome =
  | { kind: 'not_found' }
  | {
      kind: 'done';
      class_id: string;
      /** The batches this call paused (or resumed), with the pending deadline after it. */
      changed: Array<{ batch_id: string; event_id: string; remaining_ms: number | null; until: string | null; due_at: string | null }>;
      /** The batches awaiting the teacher that did not take it, and why. */
      kept: Array<{ batch_id: string; why: string }>;
    }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> };

/**
 * An operator pauses (or resumes) every pending validation of a class: one VALIDATION_PAUSED (or
 * VALIDATION_RESUMED) per batch awaiting the teacher, each its own transition in its batch's
 * history under the operator's name, exactly as a teacher's own. A batch already paused (or not
 * paused), or whose deadline is already due, is kept and says why; a crash between two batches
 * leaves the rest as they were, and calling again finishes them.
 */
export async function pauseOrResumeClass(
  db: Db,
  apply: (request: EventRequest) => Promise<ApplyOutcome>,
  classId: string,
  operator: string,
  change: { kind: 'pause'; until: string | null; reason: string | null } | { kind: 'resume' },
  now: () => Date,
): Promise<ClassPauseOutcome> {
  if (change.kind === 'pause' && change.until !== null && Date.parse(change.until) <= now().getTime()) {
    return { kind: 'invalid', errors: [{ path: 'until', message: `the pause's end ${change.until} is not in the future` }] };
  }
  if (!(await classById(db, classId))) return { kind: 'not_found' };
  const by = `operator:${operator}`;
  const changed: Extract<ClassPauseOutcome, { kind: 'done' }>['changed'] = [];
  const kept: Extract<ClassPauseOutcome, { kind: 'done' }>['kept'] = [];
  for (const batch of await classBatchesAwaitingTeacher(db, classId)) {
    const eventId = `class-${change.kind}-${randomUUID()}`;
    const outcome = await apply({
      batchId: batch.batch_id,
      eventId,
      actor: by,
      correlationId: null,
      ...(change.kind === 'pause' ? pauseRequest(by, change.until, change.reason) : resumeRequest(by)),
    });
    if (outcome.kind === 'invalid') return { kind: 'invalid', errors: outcome.errors };
    if (outcome.kind === 'applied') {
      const body = outcome.body as unknown as {
        paused: { remaining_ms: number; until: string | null } | null;
        due_at: string | null;
        remaining_ms?: number | null;
      };
      changed.push({
        batch_id: batch.batch_id,
        event_id: eventId,
        remaining_ms: body.paused?.remaining_ms ?? body.remaining_ms ?? null,
        until: body.paused?.until ?? null,
        due_at: body.due_at,
      });
    } else {
      kept.push({
        batch_id: batch.batch_id,
        why:
          outcome.kind === 'refused'
            ? change.kind === 'pause'
              ? 'already paused, or its deadline is already due'
              : 'not paused'
            : `the batch did not take it (${outcome.kind})`,
      });
    }
  }
  return { kind: 'done', class_id: classId, changed, kept };
}
