import type { Db } from '../db/client.ts';
import { type DueReminder, sendDueReminders } from '../db/reminders.ts';
import { matchingConfirmationRequired } from '../machines/batch-notifications.ts';
import { outboxEnvelope } from './envelope.ts';

/**
 * The reminder before the validation deadline: the same `student_matching_confirmation_required`
 * notification the suggestions caused (the teacher's dashboard already acts on it), marked as a
 * reminder, with how many essays still wait. Sent once per deadline version: moving the deadline
 * earns a new reminder before the new time.
 */
export function reminderOf(due: DueReminder, at: string) {
  const dueAt = new Date(due.due_at).toISOString();
  const notification = matchingConfirmationRequired(
    due,
    dueAt,
    { reminder: true, pending_count: due.pending },
    `${due.pending} essays still wait for your confirmation; at ${dueAt} they are decided automatically.`,
    at,
  );
  return {
    outbox: outboxEnvelope(notification.type, notification.data, { ...due, org_id: null }, at, undefined),
    history: {
      event_type: 'VALIDATION_REMINDER',
      event_id: null,
      actor: 'timeout',
      from_state: due.state,
      to_state: due.state,
      correlation_id: due.correlation_id,
      outcome: 'notified' as const,
      reason: null,
      at,
      detail: { deadline_version: due.version, due_at: dueAt, pending: due.pending },
    },
  };
}

export function remindDueDeadlines(db: Db, leadMs: number, now: Date, limit = 500): Promise<DueReminder[]> {
  return sendDueReminders(db, leadMs, limit, (due) => reminderOf(due, now.toISOString()));
}
