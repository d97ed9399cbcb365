import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { batchMachine } from '../../machines/batch.ts';
import { stateString } from '../../machines/describe.ts';
import { BATCH_INPUTS, type BatchSnapshot, MODEL, PATH_DATA, batchSamples } from '../../model/fixture.ts';

/** Steps the model's REGULAR batch through the samples with these labels, each of which must apply. */
function through(...labels: string[]): BatchSnapshot {
  let snapshot = initialTransition(batchMachine, BATCH_INPUTS.REGULAR)[0];
  for (const label of labels) {
    const sample = batchSamples(snapshot, PATH_DATA[0]).find((s) => s.label === label);
    if (!sample) throw new Error(`no sample "${label}"`);
    const [next] = transition(batchMachine, snapshot, sample.event);
    expect(next, `${label} applies`).not.toBe(snapshot);
    snapshot = next;
  }
  return snapshot;
}

const waiting = ['provision 2 essays', 'suggest authors'];
const statuses = (s: BatchSnapshot) => Object.values(s.context.associations).map((a) => a.validation_status);
const emittedBy = (snapshot: BatchSnapshot, label: string) => {
  const [, actions] = transition(batchMachine, snapshot, batchSamples(snapshot).find((s) => s.label === label)!.event);
  return (actions as Array<{ type: string }>).filter((a) => a.type === 'xstate.emit');
};

describe('a teacher reopening decisions while the batch waits', () => {
  it('puts the decision back to pending and counts it pending again', () => {
    const decided = through(...waiting, 'confirm A');
    expect(decided.context.association_counts).toEqual({ total: 2, pending: 1 });
    const reopened = through(...waiting, 'confirm A', 'reopen A and B');
    expect(statuses(reopened)).toEqual(['pending_validation', 'pending_validation']);
    expect(reopened.context.association_counts).toEqual({ total: 2, pending: 2 });
    expect(stateString(reopened.value)).toBe('awaiting_student_validation.awaiting_teacher');
  });

  it('does not settle the batch on the next decision while the reopened essay is still pending', () => {
    const after = through(...waiting, 'confirm A', 'reopen A and B', 'reject B');
    expect(stateString(after.value)).toBe('awaiting_student_validation.awaiting_teacher');
    expect(after.context.association_counts.pending).toBe(1);
    expect(stateString(through(...waiting, 'confirm A', 'reopen A and B', 'reject B', 'confirm A').value)).toBe(
      'student_validation_completed',
    );
  });

  it('publishes nothing; the decision after it is announced as usual', () => {
    const decided = through(...waiting, 'confirm A');
    expect(emittedBy(decided, 'reopen A and B')).toEqual([]);
    const reopened = through(...waiting, 'confirm A', 'reopen A and B');
    expect(emittedBy(reopened, 'confirm A').map((a: any) => a.params.event.type)).toEqual(['huleedu.class.essay.association.updated.v1']);
  });

  it('lets the deadline decide a reopened essay', () => {
    const after = through(...waiting, 'confirm A', 'reopen A and B', 'deadline passes');
    expect(stateString(after.value)).toBe('student_validation_completed');
    expect(after.context.associations[MODEL.essayA]!.validated_by).toBe('SYSTEM_TIMEOUT');
  });

  it('is refused when nothing was decided by the teacher, and after the batch settled', () => {
    const pending = through(...waiting);
    expect(transition(batchMachine, pending, batchSamples(pending).find((s) => s.label === 'reopen A and B')!.event)[0]).toBe(pending);
    const settled = through(...waiting, 'confirm A and reject B');
    expect(stateString(settled.value)).toBe('student_validation_completed');
    expect(transition(batchMachine, settled, batchSamples(settled).find((s) => s.label === 'reopen A and B')!.event)[0]).toBe(settled);
  });
});
