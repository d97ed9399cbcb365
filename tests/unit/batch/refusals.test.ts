import type { StateValue } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { ClassType } from '../../../machines/domain.ts';
import type { BatchEvent, BatchEventType } from '../../../machines/events.ts';
import { type BatchSnapshot, E1, E3, S3, DECIDED_AT, TEACHER, STUDENTS, LATER_DUE_AT, contentProvisioned } from './support.ts';
import { authorMatches, teacherDecisions, teacherReopened, confirmed, validationTimeout, deadlineChanged, essaysReady } from './support.ts';
import { pipelineRequested, phaseOutcome, promptAmended, validationErrors, cancel, accept, expectRefused, registered } from './support.ts';
import { awaitingSuggestions, awaitingTeacher, validationCompleted, regularReady, guestReady, pipelineRunning } from './support.ts';
import { failedCritically, cancelledBatch, ingestionFailed, AWAITING_SUGGESTIONS, AWAITING_TEACHER } from './support.ts';
import { validationPaused, validationResumed, pausedValidation } from './support.ts';

describe('refusals by state', () => {
  const ALL_TYPES: BatchEventType[] = [
    'CONTENT_PROVISIONED',
    'AUTHOR_MATCHES_SUGGESTED',
    'TEACHER_DECISIONS',
    'TEACHER_REOPENED',
    'TEACHER_CORRECTED',
    'VALIDATION_TIMEOUT',
    'DEADLINE_CHANGED',
    'VALIDATION_PAUSED',
    'VALIDATION_RESUMED',
    'ESSAYS_READY',
    'PIPELINE_REQUESTED',
    'PHASE_OUTCOME',
    'PROMPT_AMENDED',
    'VALIDATION_ERRORS',
    'CANCEL',
  ];
  const except = (...accepted: BatchEventType[]) => ALL_TYPES.filter((t) => !accepted.includes(t));

  /** An event of each type that some state of a batch of this class type would accept. */
  function acceptableEvent(type: BatchEventType, classType: ClassType): BatchEvent {
    switch (type) {
      case 'CONTENT_PROVISIONED':
        return contentProvisioned();
      case 'AUTHOR_MATCHES_SUGGESTED':
        return authorMatches();
      case 'TEACHER_DECISIONS':
        return teacherDecisions(confirmed(E1));
      case 'TEACHER_REOPENED':
        return teacherReopened(E1);
      case 'TEACHER_CORRECTED':
        return {
          type: type,
          at: DECIDED_AT,
          teacher_id: TEACHER,
          students: STUDENTS,
          corrections: [{ essay_id: E3, student_id: S3, student_in_class: true, reason: null }],
        };
      case 'VALIDATION_TIMEOUT':
        return validationTimeout(1);
      case 'DEADLINE_CHANGED':
        return deadlineChanged(LATER_DUE_AT);
      case 'VALIDATION_PAUSED':
        return validationPaused();
      case 'VALIDATION_RESUMED':
        return validationResumed();
      case 'ESSAYS_READY':
        return essaysReady(classType);
      case 'PIPELINE_REQUESTED':
        return pipelineRequested();
      case 'PHASE_OUTCOME':
        return phaseOutcome();
      case 'PROMPT_AMENDED':
        return promptAmended();
      case 'VALIDATION_ERRORS':
        return validationErrors(false);
      case 'CANCEL':
        return cancel();
    }
  }

  it('uses events that the states handling them do accept', () => {
    expect(accept(registered(), acceptableEvent('CONTENT_PROVISIONED', 'REGULAR')).next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(accept(awaitingSuggestions(), acceptableEvent('AUTHOR_MATCHES_SUGGESTED', 'REGULAR')).next.value).toEqual(AWAITING_TEACHER);
    for (const type of ['TEACHER_DECISIONS', 'VALIDATION_TIMEOUT', 'DEADLINE_CHANGED', 'ESSAYS_READY', 'CANCEL'] as const) {
      accept(awaitingTeacher(), acceptableEvent(type, 'REGULAR'));
    }
    accept(accept(awaitingTeacher(), teacherDecisions(confirmed(E1))).next, acceptableEvent('TEACHER_REOPENED', 'REGULAR'));
    accept(awaitingTeacher(), acceptableEvent('VALIDATION_PAUSED', 'REGULAR'));
    accept(pausedValidation(), acceptableEvent('VALIDATION_RESUMED', 'REGULAR'));
    accept(guestReady(), acceptableEvent('ESSAYS_READY', 'GUEST'));
    accept(regularReady(), acceptableEvent('PIPELINE_REQUESTED', 'REGULAR'));
    accept(regularReady(), acceptableEvent('TEACHER_CORRECTED', 'REGULAR'));
    accept(registered(), acceptableEvent('VALIDATION_ERRORS', 'REGULAR'));
  });

  const table: Array<[string, () => BatchSnapshot, StateValue, ClassType, BatchEventType[]]> = [
    [
      'awaiting_content_validation',
      registered,
      'awaiting_content_validation',
      'REGULAR',
      except('CONTENT_PROVISIONED', 'PROMPT_AMENDED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    ['content_ingestion_failed', ingestionFailed, 'content_ingestion_failed', 'REGULAR', ALL_TYPES],
    ['failed_critically', failedCritically, 'failed_critically', 'REGULAR', ALL_TYPES],
    [
      'awaiting_student_validation.awaiting_suggestions',
      awaitingSuggestions,
      AWAITING_SUGGESTIONS,
      'REGULAR',
      except('AUTHOR_MATCHES_SUGGESTED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'awaiting_student_validation.awaiting_teacher',
      awaitingTeacher,
      AWAITING_TEACHER,
      'REGULAR',
      except(
        'TEACHER_DECISIONS',
        'VALIDATION_TIMEOUT',
        'DEADLINE_CHANGED',
        'VALIDATION_PAUSED',
        'ESSAYS_READY',
        'VALIDATION_ERRORS',
        'CANCEL',
      ),
    ],
    [
      'awaiting_student_validation.awaiting_teacher, paused',
      pausedValidation,
      AWAITING_TEACHER,
      'REGULAR',
      except('TEACHER_DECISIONS', 'VALIDATION_RESUMED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'student_validation_completed',
      validationCompleted,
      'student_validation_completed',
      'REGULAR',
      except('ESSAYS_READY', 'TEACHER_CORRECTED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution (REGULAR)',
      regularReady,
      'ready_for_pipeline_execution',
      'REGULAR',
      except('PIPELINE_REQUESTED', 'TEACHER_CORRECTED', 'PROMPT_AMENDED', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution (GUEST)',
      guestReady,
      'ready_for_pipeline_execution',
      'GUEST',
      except('PIPELINE_REQUESTED', 'PROMPT_AMENDED', 'ESSAYS_READY', 'VALIDATION_ERRORS', 'CANCEL'),
    ],
    [
      'ready_for_pipeline_execution with a pipeline requested',
      pipelineRunning,
      'ready_for_pipeline_execution',
      'REGULAR',
      except('PIPELINE_REQUESTED', 'PHASE_OUTCOME', 'PROMPT_AMENDED', 'VALIDATION_ERRORS'),
    ],
    ['cancelled', cancelledBatch, 'cancelled', 'REGULAR', ALL_TYPES],
  ];

  describe.each(table)('in %s', (_name, reach, value, classType, refused) => {
    it('is reached by its path', () => {
      expect(reach().value).toEqual(value);
    });

    it.each(refused)('refuses %s', (type) => {
      expectRefused(reach(), acceptableEvent(type, classType));
    });
  });
});
