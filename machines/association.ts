import { assertEvent, assign, setup } from 'xstate';
import {
  type AssociationStatus,
  type ConfidenceLevel,
  type ValidationMethod,
  SYSTEM_TIMEOUT,
  TIMEOUT_CONFIDENCE_THRESHOLD,
  confidenceLevel,
} from './domain.ts';
import type { MatchSuggestion } from './events.ts';
import { initialStep, step } from './step.ts';

export const ASSOCIATION_MACHINE_ID = 'association';
/**
 * v2: a teacher's decision (confirmed, rejected) is no longer final: REOPEN puts it back to
 * pending while the batch still waits. The records did not change shape.
 * v3: no decision is final: CORRECT names another student of the class for an essay the teacher or
 * the deadline decided (timeout_confirmed and no_match take it too), after the batch moved on.
 */
export const ASSOCIATION_MACHINE_VERSION = 3;

export interface AssociationContext {
  essay_id: string;
  batch_id: string;
  class_id: string;
  text_storage_id: string;
  created_by_user_id: string;
  created_at: string;
  /** The matcher's best suggestion, kept even after a correction so the teacher can see it. */
  suggested_student_id: string | null;
  student_id: string | null;
  confidence_score: number | null;
  confidence_level: ConfidenceLevel;
  match_reasons: string[] | null;
  validation_method: ValidationMethod | null;
  validated_by: string | null;
  validated_at: string | null;
}

export type AssociationInput = Omit<
  AssociationContext,
  'student_id' | 'confidence_level' | 'validation_method' | 'validated_by' | 'validated_at'
>;

export type AssociationEvent =
  | { type: 'CONFIRM'; at: string; by: string; student_id?: string; student_in_class: boolean }
  | { type: 'REJECT'; at: string; by: string }
  | { type: 'REOPEN'; at: string; by: string }
  | { type: 'CORRECT'; at: string; by: string; student_id: string; student_in_class: boolean }
  | { type: 'TIMEOUT'; at: string; unknown_student_id: string };

/**
 * What the matcher said about the essay, kept beside the association for the teacher's review.
 * No guard reads it, so it lives outside the association machine's own context.
 */
export interface MatchDetails {
  filename: string | null;
  /** Every suggestion, highest confidence first; the first is `suggested_student_id`'s. */
  suggestions: MatchSuggestion[];
}

/** An association as the batch keeps it: its machine's context, the state it is in, and the matcher's details. */
export type AssociationRecord = AssociationContext & { validation_status: AssociationStatus } & MatchDetails;

export const associationMachine = setup({
  types: {} as {
    context: AssociationContext;
    input: AssociationInput;
    events: AssociationEvent;
  },
  guards: {
    namesStudentOfClass: ({ context, event }) => {
      assertEvent(event, 'CONFIRM');
      return event.student_in_class && (event.student_id ?? context.suggested_student_id) !== null;
    },
    namesAnotherStudentOfClass: ({ context, event }) => {
      assertEvent(event, 'CORRECT');
      return event.student_in_class && event.student_id !== context.student_id;
    },
    suggestionConfidentEnough: ({ context }) =>
      context.suggested_student_id !== null &&
      context.confidence_score !== null &&
      context.confidence_score >= TIMEOUT_CONFIDENCE_THRESHOLD,
  },
  actions: {
    recordTeacherConfirmation: assign(({ context, event }) => {
      assertEvent(event, 'CONFIRM');
      return {
        student_id: event.student_id ?? context.suggested_student_id,
        validation_method: 'human' as const,
        validated_by: event.by,
        validated_at: event.at,
      };
    }),
    recordTeacherRejection: assign(({ event }) => {
      assertEvent(event, 'REJECT');
      return { student_id: null, validation_method: 'human' as const, validated_by: event.by, validated_at: event.at };
    }),
    keepSuggestedStudent: assign(({ context, event }) => {
      assertEvent(event, 'TIMEOUT');
      return {
        student_id: context.suggested_student_id,
        validation_method: 'timeout' as const,
        validated_by: SYSTEM_TIMEOUT,
        validated_at: event.at,
      };
    }),
    recordTeacherCorrection: assign(({ event }) => {
      assertEvent(event, 'CORRECT');
      return { student_id: event.student_id, validation_method: 'human' as const, validated_by: event.by, validated_at: event.at };
    }),
    clearTeacherDecision: assign(({ context }) => ({
      student_id: context.suggested_student_id,
      validation_method: null,
      validated_by: null,
      validated_at: null,
    })),
    linkUnknownStudent: assign(({ event }) => {
      assertEvent(event, 'TIMEOUT');
      return {
        student_id: event.unknown_student_id,
        validation_method: 'timeout' as const,
        validated_by: SYSTEM_TIMEOUT,
        validated_at: event.at,
      };
    }),
  },
}).createMachine({
  id: ASSOCIATION_MACHINE_ID,
  description: "One essay-to-student association, from the matcher's suggestion to a settled author.",
  context: ({ input }) => ({
    ...input,
    student_id: input.suggested_student_id,
    confidence_level: confidenceLevel(input.suggested_student_id === null ? null : input.confidence_score),
    validation_method: null,
    validated_by: null,
    validated_at: null,
  }),
  initial: 'pending_validation',
  states: {
    pending_validation: {
      description: 'The matcher has suggested an author (or none); the teacher has not decided and the deadline has not passed.',
      on: {
        CONFIRM: {
          guard: 'namesStudentOfClass',
          target: 'confirmed',
          actions: 'recordTeacherConfirmation',
          description: 'The teacher confirms the suggestion, or corrects it to another student of the class.',
        },
        REJECT: {
          target: 'rejected',
          actions: 'recordTeacherRejection',
          description: 'The teacher says the suggested student did not write this essay.',
        },
        TIMEOUT: [
          {
            guard: 'suggestionConfidentEnough',
            target: 'timeout_confirmed',
            actions: 'keepSuggestedStudent',
            description: 'Deadline passed; confidence ≥ 0.7 keeps the suggested student.',
          },
          {
            target: 'no_match',
            actions: 'linkUnknownStudent',
            description: "Deadline passed; low confidence or no suggestion links the class's UNKNOWN student.",
          },
        ],
      },
    },
    confirmed: {
      description:
        'The teacher confirmed or corrected the author; they may reopen it while the batch still waits, or correct it once validation is over.',
      on: {
        CORRECT: {
          guard: 'namesAnotherStudentOfClass',
          target: 'confirmed',
          actions: 'recordTeacherCorrection',
          description: 'The teacher corrects the author to another student of the class, after validation is over.',
        },
        REOPEN: {
          target: 'pending_validation',
          actions: 'clearTeacherDecision',
          description: 'The teacher takes the decision back: pending again, with the suggestion, until decided anew or by the deadline.',
        },
      },
    },
    rejected: {
      description:
        'The teacher rejected the suggestion; no author is linked. They may reopen it while the batch still waits, or correct it once validation is over.',
      on: {
        CORRECT: {
          guard: 'namesAnotherStudentOfClass',
          target: 'confirmed',
          actions: 'recordTeacherCorrection',
          description: 'The teacher names the author after all, after validation is over.',
        },
        REOPEN: {
          target: 'pending_validation',
          actions: 'clearTeacherDecision',
          description: 'The teacher takes the rejection back: pending again, with the suggestion.',
        },
      },
    },
    timeout_confirmed: {
      description: 'The deadline kept a confident suggestion; the teacher may correct it once validation is over.',
      on: {
        CORRECT: {
          guard: 'namesAnotherStudentOfClass',
          target: 'confirmed',
          actions: 'recordTeacherCorrection',
          description: 'The teacher corrects the author the deadline kept to another student of the class.',
        },
      },
    },
    no_match: {
      description: "The deadline linked the class's UNKNOWN student; the teacher may correct it once validation is over.",
      on: {
        CORRECT: {
          guard: 'namesAnotherStudentOfClass',
          target: 'confirmed',
          actions: 'recordTeacherCorrection',
          description: 'The teacher names the real author of an essay the deadline sent to UNKNOWN.',
        },
      },
    },
  },
});

export function newAssociation(input: AssociationInput, details: MatchDetails): AssociationRecord {
  const [snapshot] = initialStep(associationMachine, input);
  return { ...snapshot.context, validation_status: 'pending_validation', ...details };
}

function toSnapshot(record: AssociationRecord) {
  const { validation_status, filename: _filename, suggestions: _suggestions, ...context } = record;
  return associationMachine.resolveState({ value: validation_status, context });
}

/** Steps one association; `accepted` is false when its state refuses the event. */
export function stepAssociation(record: AssociationRecord, event: AssociationEvent): { accepted: boolean; record: AssociationRecord } {
  const before = toSnapshot(record);
  const [after] = step(associationMachine, before, event);
  if (after === before) return { accepted: false, record };
  return {
    accepted: true,
    record: {
      ...after.context,
      validation_status: after.value as AssociationStatus,
      filename: record.filename,
      suggestions: record.suggestions,
    },
  };
}

export function canStepAssociation(record: AssociationRecord, event: AssociationEvent): boolean {
  return toSnapshot(record).can(event);
}
