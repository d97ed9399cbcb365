import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { type BatchEmitted, batchMachine } from '../../machines/batch.ts';
import { stateString } from '../../machines/describe.ts';
import { type BatchEvent, TOPICS } from '../../machines/events.ts';
import { BATCH_INPUTS, type BatchSnapshot, MODEL, PATH_DATA, batchSamples } from '../../model/fixture.ts';

/** Steps the model's REGULAR batch through the samples with these labels, each of which must apply. */
function through(...labels: string[]): BatchSnapshot {
  let snapshot = initialTransition(batchMachine, BATCH_INPUTS.REGULAR)[0];
  for (const label of labels) {
    const [next] = transition(batchMachine, snapshot, sample(snapshot, label));
    expect(next, `${label} applies`).not.toBe(snapshot);
    snapshot = next;
  }
  return snapshot;
}

function sample(snapshot: BatchSnapshot, label: string): BatchEvent {
  const found = batchSamples(snapshot, PATH_DATA[0]).find((s) => s.label === label);
  if (!found) throw new Error(`no sample "${label}"`);
  return found.event;
}

const correctBoth = (snapshot: BatchSnapshot) => sample(snapshot, 'correct A and B to student 1');
const correction = (corrections: Array<{ essay_id: string; student_id: string; student_in_class?: boolean }>): BatchEvent => ({
  type: 'TEACHER_CORRECTED',
  at: MODEL.dueAt,
  teacher_id: MODEL.ownerId,
  corrections: corrections.map((c) => ({ student_in_class: true, reason: null, ...c })),
  students: { [MODEL.student1]: { first_name: 'Ana', last_name: 'Real', email: 'ana@school.example' } },
});

function emitted(snapshot: BatchSnapshot, event: BatchEvent): BatchEmitted[] {
  const [, actions] = transition(batchMachine, snapshot, event);
  return (actions as Array<{ type: string; params?: unknown }>).flatMap((a) =>
    a.type === 'xstate.emit' ? [(a.params as { event: BatchEmitted }).event] : [],
  );
}

const refuses = (snapshot: BatchSnapshot, event: BatchEvent) => expect(transition(batchMachine, snapshot, event)[0]).toBe(snapshot);

const waiting = ['provision 2 essays', 'suggest authors'];
/** The deadline decided both: A kept its suggestion or went to UNKNOWN (by the path's confidence), B to UNKNOWN. */
const byDeadline = [...waiting, 'deadline passes'];
const byTeacher = [...waiting, 'confirm A and reject B'];

describe('a teacher correcting associations after validation', () => {
  it('sends an essay the deadline linked to UNKNOWN to its real author, once the batch is ready', () => {
    const ready = through(...byDeadline, 'essays ready (REGULAR)');
    expect(stateString(ready.value)).toBe('ready_for_pipeline_execution');
    expect(ready.context.associations[MODEL.essayB]).toMatchObject({ validation_status: 'no_match', student_id: MODEL.unknownStudent });
    const [after] = transition(batchMachine, ready, correction([{ essay_id: MODEL.essayB, student_id: MODEL.student1 }]));
    expect(stateString(after.value)).toBe('ready_for_pipeline_execution');
    expect(after.context.associations[MODEL.essayB]).toMatchObject({
      validation_status: 'confirmed',
      student_id: MODEL.student1,
      validation_method: 'human',
      validated_by: MODEL.ownerId,
      validated_at: MODEL.dueAt,
    });
    // The other essay and the counts stay as they were.
    expect(after.context.associations[MODEL.essayA]).toBe(ready.context.associations[MODEL.essayA]);
    expect(after.context.association_counts).toEqual({ total: 2, pending: 0 });
  });

  it("corrects the teacher's own decisions and the deadline's, in student_validation_completed too", () => {
    for (const path of [byTeacher, byDeadline]) {
      const settled = through(...path);
      expect(stateString(settled.value)).toBe('student_validation_completed');
      const after = through(...path, 'correct A and B to student 1');
      expect(stateString(after.value)).toBe('student_validation_completed');
      expect(Object.values(after.context.associations).map((a) => [a.validation_status, a.student_id])).toEqual([
        ['confirmed', MODEL.student1],
        ['confirmed', MODEL.student1],
      ]);
    }
  });

  it('announces each correction on the association-updated topic and tells the teacher, without a second StudentAssociationsConfirmedV1', () => {
    const ready = through(...byDeadline, 'essays ready (REGULAR)');
    const out = emitted(ready, correction([{ essay_id: MODEL.essayB, student_id: MODEL.student1 }]));
    expect(out.map((e) => e.type)).toEqual([TOPICS.associationUpdated, TOPICS.teacherNotification]);
    expect(out[0]!.data).toMatchObject({
      essay_id: MODEL.essayB,
      student_id: MODEL.student1,
      first_name: 'Ana',
      last_name: 'Real',
      student_email: 'ana@school.example',
      association_method: 'human',
      created_by_user_id: MODEL.ownerId,
    });
    expect(out[1]!.data).toMatchObject({
      notification_type: 'student_associations_confirmed',
      teacher_id: MODEL.ownerId,
      payload: { batch_id: MODEL.batchId, confirmed_count: 1, correction: true, corrected_essay_ids: [MODEL.essayB] },
    });
  });

  it('is all or none: one correction that cannot apply refuses the whole event', () => {
    const settled = through(...byTeacher);
    // B is rejected and A is the suggestion's; A to a student outside the class fails, so B is not corrected either.
    refuses(
      settled,
      correction([
        { essay_id: MODEL.essayB, student_id: MODEL.student1 },
        { essay_id: MODEL.essayA, student_id: MODEL.outsideStudent, student_in_class: false },
      ]),
    );
    // An essay already with that student, or not of this batch.
    const corrected = through(...byTeacher, 'correct A and B to student 1');
    refuses(corrected, correctBoth(corrected));
    refuses(
      settled,
      correction([
        { essay_id: MODEL.essayB, student_id: MODEL.student1 },
        { essay_id: '00000000-0000-4000-8000-0000000000ff', student_id: MODEL.student1 },
      ]),
    );
    refuses(settled, correction([]));
    refuses(
      settled,
      correction([
        { essay_id: MODEL.essayB, student_id: MODEL.student1 },
        { essay_id: MODEL.essayB, student_id: MODEL.student0 },
      ]),
    );
  });

  it('is refused while the batch awaits the teacher: there the teacher reopens and decides', () => {
    const partly = through(...waiting, 'confirm A');
    refuses(partly, correction([{ essay_id: MODEL.essayA, student_id: MODEL.student1 }]));
    refuses(through(...waiting), correction([{ essay_id: MODEL.essayA, student_id: MODEL.student1 }]));
  });

  it('is refused once a pipeline was requested: downstream has read the authors', () => {
    const running = through(...byDeadline, 'essays ready (REGULAR)', 'request pipeline');
    expect(running.context.pipeline).toBe('nlp');
    refuses(running, correctBoth(running));
  });

  it('is still taken after a pipeline request was denied, since nothing started', () => {
    const denied = through(...byDeadline, 'essays ready (REGULAR)', 'request cj_assessment without credits');
    expect(denied.context.pipeline).toBeNull();
    expect(transition(batchMachine, denied, correctBoth(denied))[0]).not.toBe(denied);
  });

  it('is refused for a GUEST batch, which has no associations', () => {
    let guest = initialTransition(batchMachine, BATCH_INPUTS.GUEST)[0];
    guest = transition(batchMachine, guest, sample(guest, 'provision 2 essays'))[0];
    expect(stateString(guest.value)).toBe('ready_for_pipeline_execution');
    refuses(guest, correctBoth(guest));
  });
});
