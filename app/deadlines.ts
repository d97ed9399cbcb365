import { TIMEOUT_CONFIDENCE_THRESHOLD } from '../machines/domain.ts';
import type { Db } from '../db/client.ts';
import { type DeadlineRow, claimDue, pendingDeadlineRows, teacherDeadlineRows, teacherPausedRows } from '../db/deadlines.ts';

export interface DueDeadline {
  batch_id: string;
  version: number;
  due_at: string;
}

const asDue = (d: DeadlineRow): DueDeadline => ({ ...d, due_at: new Date(d.due_at).toISOString() });

/** Claims up to `limit` due deadlines for `leaseMs` (db/deadlines.ts says how sweepers share them). */
export async function claimDueDeadlines(db: Db, limit: number, leaseMs: number): Promise<DueDeadline[]> {
  return (await claimDue(db, limit, leaseMs)).map(asDue);
}

/** Every pending deadline, for re-scheduling timers after Redis lost them. */
export async function pendingDeadlines(db: Db, limit: number): Promise<DueDeadline[]> {
  return (await pendingDeadlineRows(db, limit)).map(asDue);
}

/** A teacher's pending deadlines before `before`, soonest first, with what they will decide. */
export async function teacherDeadlines(db: Db, ownerId: string, before: string | undefined) {
  const found = await teacherDeadlineRows(db, ownerId, before, TIMEOUT_CONFIDENCE_THRESHOLD);
  return found.map((d) => ({
    batch_id: d.batch_id,
    class_id: d.class_id,
    course_code: d.course_code,
    due_at: new Date(d.due_at).toISOString(),
    deadline_version: d.version,
    pending_associations: d.pending,
    will_keep_suggestion: d.auto_confirm,
    will_link_unknown_student: d.to_unknown,
    why: d.reason,
  }));
}

/** A teacher's paused validations: the time each deadline had left, and when the pause ends by itself. */
export async function teacherPausedValidations(db: Db, ownerId: string) {
  return (await teacherPausedRows(db, ownerId)).map((p) => ({
    batch_id: p.batch_id,
    class_id: p.class_id,
    course_code: p.course_code,
    paused_at: new Date(p.pause.paused_at).toISOString(),
    paused_by: p.pause.by,
    until: p.pause.until,
    remaining_ms: p.pause.remaining_ms,
    paused_due_at: p.pause.paused_due_at,
    pending_associations: p.pending,
  }));
}
