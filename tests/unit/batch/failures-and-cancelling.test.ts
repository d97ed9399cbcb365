import { describe, expect, it } from 'vitest';
import { type BatchSnapshot, E1, E2, E3, validationErrors, cancel, accept, expectRefused, registered } from './support.ts';
import { awaitingSuggestions, awaitingTeacher, validationCompleted, regularReady, guestReady } from './support.ts';

describe('validation errors from the essay lifecycle service', () => {
  it('fails the batch critically on a critical failure, a final state', () => {
    const { next, emitted } = accept(registered(), validationErrors(true, [E1, E2, E3]));
    expect(next.value).toBe('failed_critically');
    expect(next.status).toBe('done');
    expect(next.context.validation_errors).toBe(3);
    expect(emitted).toEqual([]);
  });

  it('records non-critical errors and stays, before and after provisioning', () => {
    const early = accept(registered(), validationErrors(false)).next;
    expect(early.value).toBe('awaiting_content_validation');
    expect(early.context.validation_errors).toBe(1);
    for (const reach of [awaitingSuggestions, awaitingTeacher, validationCompleted, regularReady, guestReady]) {
      const before = reach();
      const { next } = accept(before, validationErrors(false));
      expect(next.value).toEqual(before.value);
      expect(next.context.validation_errors).toBe(1);
    }
  });

  it('refuses a critical failure once the content is provisioned', () => {
    expectRefused(awaitingSuggestions(), validationErrors(true));
    expectRefused(regularReady(), validationErrors(true));
  });
});

describe('cancelling', () => {
  const cancellable: Array<[string, () => BatchSnapshot]> = [
    ['awaiting content', registered],
    ['a ready GUEST batch', guestReady],
    ['awaiting author suggestions', awaitingSuggestions],
    ['awaiting the teacher', awaitingTeacher],
    ['validation is completed', validationCompleted],
    ['ready for pipelines', regularReady],
  ];

  it.each(cancellable)('cancels a batch %s, with no deadline left and nothing emitted', (_when, reach) => {
    const { next, emitted } = accept(reach(), cancel());
    expect(next.value).toBe('cancelled');
    expect(next.status).toBe('done');
    expect(next.context.deadline).toBeNull();
    expect(emitted).toEqual([]);
  });

  it('clears the running deadline of a batch awaiting the teacher', () => {
    const before = awaitingTeacher();
    expect(before.context.deadline).not.toBeNull();
    const { next } = accept(before, cancel());
    expect(next.context.deadline).toBeNull();
  });
});
