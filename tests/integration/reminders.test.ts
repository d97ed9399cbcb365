import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import { outboxEvents, postEvent, provisionedClassBatch, suggested } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { wireProblems } from '../support/wire.ts';

describe('the reminder before the validation deadline', () => {
  // Deadlines 60 s after the suggestions; a 2-minute reminder window covers them at once.
  const h = harnessForSuite({ label: 'reminders', validationTimeoutMs: 60_000 });

  async function waitingBatch() {
    const teacher = await h.teacher('teacher-remind');
    const { klass, batchId, list } = await provisionedClassBatch(h, teacher, { count: 2 });
    await postEvent(
      h,
      suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id }, { essay: list[1]! }]),
    );
    return { teacher, batchId };
  }

  const reminders = async (batchId: string) =>
    (await outboxEvents(h, TOPICS.teacherNotification)).filter((e) => e.batch_id === batchId && e.envelope.data.payload.reminder === true);

  it('reminds the teacher once per deadline, with how many essays wait, and records it in the history', async () => {
    const { teacher, batchId } = await waitingBatch();
    expect(await h.service.remindDueDeadlines(1_000)).toEqual([]); // not yet within a second of the deadline
    const sent = await h.service.remindDueDeadlines(120_000);
    expect(sent.map((r) => r.batch_id)).toContain(batchId);
    expect((await h.service.remindDueDeadlines(120_000)).map((r) => r.batch_id)).not.toContain(batchId);

    const [reminder] = await reminders(batchId);
    expect(wireProblems(reminder!.envelope, 'outbound', batchId)).toEqual([]);
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    expect(reminder!.envelope.data).toMatchObject({
      teacher_id: 'teacher-remind',
      notification_type: 'student_matching_confirmation_required',
      action_required: true,
      payload: { reminder: true, pending_count: 2 },
    });
    expect(Date.parse(reminder!.envelope.data.deadline_timestamp)).toBe(Date.parse(batch.body.validation.due_at));
    const history = await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
    expect(history.body.history.filter((row: { event_type: string }) => row.event_type === 'VALIDATION_REMINDER')).toEqual([
      expect.objectContaining({ outcome: 'notified', from_state: 'awaiting_student_validation.awaiting_teacher' }),
    ]);
  });

  it('reminds again when the deadline moves, and never after validation ended', async () => {
    const { teacher, batchId } = await waitingBatch();
    await h.service.remindDueDeadlines(120_000);
    const moved = await h.api('POST', `/v1/batches/${batchId}/deadline`, { token: teacher, body: { extend_by_ms: 30_000 } });
    expect(moved.status).toBe(200);
    await h.service.remindDueDeadlines(120_000);
    expect(await reminders(batchId)).toHaveLength(2);

    const other = await waitingBatch();
    expect((await h.api('POST', `/v1/batches/${other.batchId}/cancel`, { token: other.teacher, body: {} })).status).toBe(200);
    await h.service.remindDueDeadlines(120_000);
    expect(await reminders(other.batchId)).toEqual([]);
  });
});
