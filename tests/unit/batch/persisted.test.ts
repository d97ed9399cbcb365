import { describe, expect, it } from 'vitest';
import { batchMachine } from '../../../machines/batch.ts';
import { TOPICS } from '../../../machines/events.ts';
import { BATCH_ID, E1, E2, E3, S2, OTHER_STUDENT, UNKNOWN_STUDENT, LATER_DUE_AT, teacherDecisions } from './support.ts';
import { confirmed, validationTimeout, deadlineChanged, pipelineRequested, cancel, accept, expectRefused } from './support.ts';
import { single, byEssay, registered, awaitingTeacher, regularReady, cancelledBatch, AWAITING_TEACHER } from './support.ts';

describe('persisted snapshots', () => {
  const roundTrip = <T>(value: T) => JSON.parse(JSON.stringify(value));

  it('restores a batch awaiting the teacher from JSON, and the deadline still settles it', () => {
    const before = accept(awaitingTeacher(), teacherDecisions(confirmed(E1, { student_id: OTHER_STUDENT }))).next;
    const restored = batchMachine.resolveState(roundTrip(before));
    expect(restored.value).toEqual(AWAITING_TEACHER);
    expect(restored.status).toBe('active');
    expect(restored.context).toEqual(before.context);

    const { next, emitted } = accept(restored, validationTimeout(1));
    expect(next.value).toBe('student_validation_completed');
    const rows = byEssay(single(emitted, TOPICS.associationsConfirmed).associations);
    expect(rows[E1]).toMatchObject({ student_id: OTHER_STUDENT, validation_method: 'human' });
    expect(rows[E2]).toMatchObject({ student_id: S2, validation_method: 'timeout' });
    expect(rows[E3]).toMatchObject({ student_id: UNKNOWN_STUDENT, confidence_score: 0 });
  });

  it("restores from the machine's persisted snapshot after a JSON round trip", () => {
    const before = awaitingTeacher();
    const restored = batchMachine.resolveState(roundTrip(batchMachine.getPersistedSnapshot(before)));
    expect(restored.value).toEqual(AWAITING_TEACHER);
    expect(restored.context).toEqual(before.context);
    const { next } = accept(restored, teacherDecisions(confirmed(E1), confirmed(E2), confirmed(E3)));
    expect(next.value).toBe('student_validation_completed');
  });

  it('keeps refusing on a restored snapshot what the original refused', () => {
    const restored = batchMachine.resolveState(roundTrip(accept(awaitingTeacher(), deadlineChanged(LATER_DUE_AT)).next));
    expectRefused(restored, validationTimeout(1));
    expectRefused(restored, pipelineRequested());
    expect(accept(restored, validationTimeout(2, LATER_DUE_AT)).next.value).toBe('student_validation_completed');
  });

  it('restores a ready batch that can then start its pipeline', () => {
    const restored = batchMachine.resolveState(roundTrip(regularReady()));
    expect(restored.value).toBe('ready_for_pipeline_execution');
    expect(single(accept(restored, pipelineRequested()).emitted, TOPICS.spellcheckCommand).entity_id).toBe(BATCH_ID);
  });

  it('restores a cancelled batch as done', () => {
    const restored = batchMachine.resolveState(roundTrip(cancelledBatch()));
    expect(restored.status).toBe('done');
    expectRefused(restored, cancel());
  });

  it('throws when asked to restore a state the chart does not have', () => {
    const context = registered().context;
    expect(() => batchMachine.resolveState({ value: 'awaiting_approval', context })).toThrow(/awaiting_approval/);
    expect(() => batchMachine.resolveState({ value: { awaiting_student_validation: 'awaiting_review' }, context })).toThrow(
      /awaiting_review/,
    );
  });
});
