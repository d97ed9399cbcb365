import { type StateValue, initialTransition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { batchMachine } from '../../machines/batch.ts';
import { batchStatusOf, eventsAcceptedIn, stateString } from '../../machines/describe.ts';
import { BATCH_STATUSES } from '../../machines/domain.ts';

const [registered] = initialTransition(batchMachine, {
  batch_id: '7c11d0a4-0000-4000-8000-0000000000ba',
  owner_id: 'teacher-owner',
  class_id: '7c11d0a4-0000-4000-8000-0000000000c1',
  course_code: 'ENG5',
  expected_essay_count: 2,
  correlation_id: '7c11d0a4-0000-4000-8000-0000000000cc',
});
const at = (value: StateValue) => batchMachine.resolveState({ value, context: registered.context });

describe('stateString', () => {
  it('leaves a top-level state as it is', () => {
    expect(stateString('ready_for_pipeline_execution')).toBe('ready_for_pipeline_execution');
  });

  it('joins a nested state with dots', () => {
    expect(stateString({ awaiting_student_validation: 'awaiting_teacher' })).toBe('awaiting_student_validation.awaiting_teacher');
  });

  it('joins deeper nesting too', () => {
    expect(stateString({ a: { b: 'c' } })).toBe('a.b.c');
  });

  it('gives an empty string for an empty state value', () => {
    expect(stateString({})).toBe('');
  });
});

describe('batchStatusOf', () => {
  it('gives the top-level state of a nested state as the batch status', () => {
    expect(batchStatusOf({ awaiting_student_validation: 'awaiting_suggestions' })).toBe('awaiting_student_validation');
  });

  it('gives a top-level state as it is', () => {
    expect(batchStatusOf('cancelled')).toBe('cancelled');
  });

  it('throws for a state that is not a BatchStatus wire value', () => {
    expect(() => batchStatusOf('awaiting_teacher')).toThrow();
  });

  it('accepts every top-level state of the batch chart, as each is named after a wire value', () => {
    const topLevel = Object.keys(batchMachine.root.states);
    expect(topLevel.length).toBeGreaterThan(0);
    for (const state of topLevel) {
      expect(BATCH_STATUSES).toContain(state);
      expect(batchStatusOf(at(state).value)).toBe(state);
    }
  });
});

describe('eventsAcceptedIn', () => {
  it.each<[string, StateValue, string[]]>([
    [
      'awaiting_content_validation',
      'awaiting_content_validation',
      ['CANCEL', 'CONTENT_PROVISIONED', 'PROMPT_AMENDED', 'VALIDATION_ERRORS'],
    ],
    [
      'awaiting_suggestions, including what its parent state accepts',
      { awaiting_student_validation: 'awaiting_suggestions' },
      ['AUTHOR_MATCHES_SUGGESTED', 'CANCEL', 'ESSAYS_READY', 'VALIDATION_ERRORS'],
    ],
    [
      'awaiting_teacher, including what its parent state accepts',
      { awaiting_student_validation: 'awaiting_teacher' },
      [
        'CANCEL',
        'DEADLINE_CHANGED',
        'ESSAYS_READY',
        'TEACHER_DECISIONS',
        'TEACHER_REOPENED',
        'VALIDATION_ERRORS',
        'VALIDATION_PAUSED',
        'VALIDATION_RESUMED',
        'VALIDATION_TIMEOUT',
      ],
    ],
    ['student_validation_completed', 'student_validation_completed', ['CANCEL', 'ESSAYS_READY', 'TEACHER_CORRECTED', 'VALIDATION_ERRORS']],
    [
      'ready_for_pipeline_execution',
      'ready_for_pipeline_execution',
      ['CANCEL', 'ESSAYS_READY', 'PHASE_OUTCOME', 'PIPELINE_REQUESTED', 'PROMPT_AMENDED', 'TEACHER_CORRECTED', 'VALIDATION_ERRORS'],
    ],
    ['content_ingestion_failed', 'content_ingestion_failed', []],
    ['failed_critically', 'failed_critically', []],
    ['cancelled', 'cancelled', []],
  ])('lists, sorted, the events handled in %s', (_name, value, expected) => {
    expect(eventsAcceptedIn(at(value))).toEqual(expected);
  });
});
