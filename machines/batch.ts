import { assign, emit, enqueueActions, setup } from 'xstate';
import { type AssociationRecord, newAssociation, stepAssociation } from './association.ts';
import { type ClassType, type CourseCode, courseOf } from './domain.ts';
import type { BatchEvent, EssayRef, PromptPayload } from './events.ts';
import { pendingCount, timeoutHours, toAssociationEvent } from './batch-rules.ts';
import {
  type BatchEmitted,
  associationUpdated,
  associationsConfirmed,
  spellcheckCommand,
  studentMatchingCommand,
  timeoutProcessed,
} from './outbound.ts';

export const BATCH_MACHINE_ID = 'batch';
/**
 * v2: GUEST batches go to ready_for_pipeline_execution on provisioning (awaiting_pipeline_configuration
 * is gone); a pipeline request keeps the batch ready (processing_pipelines is gone); failed_critically;
 * prompt references, validation error counts, and every suggestion with the filename per association.
 */
export const BATCH_MACHINE_VERSION = 2;

export interface BatchInput {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  course_code: CourseCode;
  expected_essay_count: number;
  correlation_id: string;
}

export interface Deadline {
  due_at: string;
  /** Grows with every new or moved deadline, so a stale timer can tell it is stale. */
  version: number;
}

export interface BatchContext extends BatchInput {
  class_type: ClassType;
  language: 'en' | 'sv';
  essays: EssayRef[];
  associations: Record<string, AssociationRecord>;
  deadline: Deadline | null;
  deadline_version: number;
  timeout_triggered: boolean;
  essays_stored: boolean;
  /** The last pipeline requested; null until one is. */
  pipeline: string | null;
  /** The client's prompt payload of the last pipeline request, kept for later phases. */
  prompt_payload: PromptPayload | null;
  /** BatchEssaysReady's student_prompt_ref, kept for later phases. */
  student_prompt_ref: unknown;
  /** Essays the essay lifecycle service reported as failing validation (non-critical reports). */
  validation_errors: number;
}

export { type BatchEmitted, type ValidationSummary, validationSummary } from './outbound.ts';

export const batchMachine = setup({
  types: {} as {
    context: BatchContext;
    input: BatchInput;
    events: BatchEvent;
    emitted: BatchEmitted;
  },
  guards: {
    nothingProvisioned: ({ event }) => event.type === 'CONTENT_PROVISIONED' && event.provisioned_count === 0,
    isRegularBatch: ({ context }) => context.class_id !== null,
    suggestionsAreForThisClass: ({ context, event }) =>
      event.type === 'AUTHOR_MATCHES_SUGGESTED' && event.class_id === context.class_id,
    someDecisionApplies: ({ context, event }) =>
      event.type === 'TEACHER_DECISIONS' &&
      event.decisions.some((d) => {
        const current = context.associations[d.essay_id];
        return current !== undefined && stepAssociation(current, toAssociationEvent(d, event)).accepted;
      }),
    noAssociationPending: ({ context }) => pendingCount(context.associations) === 0,
    deadlineIsCurrent: ({ context, event }) =>
      event.type === 'VALIDATION_TIMEOUT' && context.deadline?.version === event.deadline_version,
    newDeadlineIsInTheFuture: ({ event }) =>
      event.type === 'DEADLINE_CHANGED' && Date.parse(event.due_at) > Date.parse(event.at),
    essaysNotYetStoredAndClassTypeMatches: ({ context, event }) =>
      event.type === 'ESSAYS_READY' && !context.essays_stored && event.class_type === context.class_type,
    classTypeMatches: ({ context, event }) => event.type === 'ESSAYS_READY' && event.class_type === context.class_type,
    isGuestEssaysReady: ({ context, event }) =>
      event.type === 'ESSAYS_READY' && context.class_type === 'GUEST' && event.class_type === 'GUEST',
    essaysStored: ({ context }) => context.essays_stored,
    noPipelineRequested: ({ context }) => context.pipeline === null,
    criticalFailure: ({ event }) => event.type === 'VALIDATION_ERRORS' && event.critical,
    notCriticalFailure: ({ event }) => event.type === 'VALIDATION_ERRORS' && !event.critical,
  },
  actions: {
    recordProvisionedEssays: assign(({ event }) =>
      event.type === 'CONTENT_PROVISIONED' ? { essays: event.essays } : {},
    ),
    emitStudentMatchingCommand: emit(({ context, event }) => studentMatchingCommand(context, context.essays, event.at)),
    storeSuggestionsAndStartDeadline: assign(({ context, event }) => {
      if (event.type !== 'AUTHOR_MATCHES_SUGGESTED') return {};
      const associations: Record<string, AssociationRecord> = {};
      const storageIds = new Map(context.essays.map((e) => [e.essay_id, e.text_storage_id]));
      for (const m of event.matches) storageIds.set(m.essay_id, m.text_storage_id);
      for (const [essay_id, text_storage_id] of storageIds) {
        const match = event.matches.find((m) => m.essay_id === essay_id);
        const suggestions = [...(match?.suggestions ?? [])].sort((a, b) => b.confidence_score - a.confidence_score);
        const best = suggestions[0];
        associations[essay_id] = newAssociation(
          {
            essay_id,
            batch_id: context.batch_id,
            class_id: event.class_id,
            text_storage_id,
            created_by_user_id: event.created_by,
            created_at: event.at,
            suggested_student_id: best?.student_id ?? null,
            confidence_score: best?.confidence_score ?? null,
            match_reasons: best?.match_reasons ?? null,
          },
          { filename: match?.filename ?? null, suggestions },
        );
      }
      const version = context.deadline_version + 1;
      return { associations, deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    applyTeacherDecisions: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'TEACHER_DECISIONS') return;
      const associations = { ...context.associations };
      for (const d of event.decisions) {
        const current = associations[d.essay_id];
        if (!current) continue;
        const stepped = stepAssociation(current, toAssociationEvent(d, event));
        if (!stepped.accepted) continue;
        associations[d.essay_id] = stepped.record;
        enqueue.emit(associationUpdated(context, stepped.record, event.students, event.at));
      }
      enqueue.assign({ associations });
    }),
    applyTimeoutToPending: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'VALIDATION_TIMEOUT') return;
      const associations = { ...context.associations };
      const decided: AssociationRecord[] = [];
      for (const [essayId, current] of Object.entries(associations)) {
        const stepped = stepAssociation(current, { type: 'TIMEOUT', at: event.at, unknown_student_id: event.unknown_student_id });
        if (!stepped.accepted) continue;
        associations[essayId] = stepped.record;
        decided.push(stepped.record);
        enqueue.emit(associationUpdated(context, stepped.record, event.students, event.at));
      }
      enqueue.emit(timeoutProcessed(context, decided, event.students, timeoutHours(context.associations, event.at), event.at));
      enqueue.assign({ associations, timeout_triggered: true });
    }),
    moveDeadline: assign(({ context, event }) => {
      if (event.type !== 'DEADLINE_CHANGED') return {};
      const version = context.deadline_version + 1;
      return { deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    clearDeadline: assign({ deadline: null }),
    emitAssociationsConfirmed: emit(({ context, event }) =>
      associationsConfirmed(context, context.associations, context.timeout_triggered, event.at),
    ),
    recordEssaysStored: assign(({ event }) =>
      event.type === 'ESSAYS_READY' ? { essays_stored: true, student_prompt_ref: event.student_prompt_ref ?? null } : {},
    ),
    recordPipeline: assign(({ event }) =>
      event.type === 'PIPELINE_REQUESTED' ? { pipeline: event.pipeline, prompt_payload: event.prompt_payload } : {},
    ),
    emitSpellcheckCommand: emit(({ context, event }) => spellcheckCommand(context, context.essays, event.at)),
    recordValidationErrors: assign(({ context, event }) =>
      event.type === 'VALIDATION_ERRORS' ? { validation_errors: context.validation_errors + event.total_errors } : {},
    ),
  },
}).createMachine({
  id: BATCH_MACHINE_ID,
  description:
    'The lifecycle of one batch of essays. Pipelines may start only when the student associations are settled and the essays are stored.',
  context: ({ input }) => ({
    ...input,
    class_type: input.class_id === null ? 'GUEST' : 'REGULAR',
    language: courseOf(input.course_code).language,
    essays: [],
    associations: {},
    deadline: null,
    deadline_version: 0,
    timeout_triggered: false,
    essays_stored: false,
    pipeline: null,
    prompt_payload: null,
    student_prompt_ref: null,
    validation_errors: 0,
  }),
  initial: 'awaiting_content_validation',
  states: {
    awaiting_content_validation: {
      description: 'Registered; waiting for the essay lifecycle service to provision the uploaded content.',
      on: {
        CONTENT_PROVISIONED: [
          {
            guard: 'nothingProvisioned',
            target: 'content_ingestion_failed',
            actions: 'recordProvisionedEssays',
            description: 'No essay could be provisioned: the upload failed.',
          },
          {
            guard: 'isRegularBatch',
            target: 'awaiting_student_validation',
            actions: ['recordProvisionedEssays', 'emitStudentMatchingCommand'],
            description: 'A class batch asks the NLP matcher who wrote each essay.',
          },
          {
            target: 'ready_for_pipeline_execution',
            actions: 'recordProvisionedEssays',
            description: 'A GUEST batch skips student validation and is ready at once, as the real orchestrator does.',
          },
        ],
        VALIDATION_ERRORS: [
          {
            guard: 'criticalFailure',
            target: 'failed_critically',
            actions: 'recordValidationErrors',
            description: 'The essay lifecycle service reports a critical validation failure.',
          },
          {
            guard: 'notCriticalFailure',
            actions: 'recordValidationErrors',
            description: 'Some essays failed validation; the batch goes on with the rest.',
          },
        ],
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
    },
    content_ingestion_failed: {
      type: 'final',
      description: 'Content provisioning produced no essays; the batch cannot proceed.',
    },
    failed_critically: {
      type: 'final',
      description: 'The essay lifecycle service reported a critical validation failure; the batch cannot proceed.',
    },
    awaiting_student_validation: {
      description: 'REGULAR batch: the essays\' authors are being matched and confirmed.',
      initial: 'awaiting_suggestions',
      on: {
        ESSAYS_READY: {
          guard: 'essaysNotYetStoredAndClassTypeMatches',
          actions: 'recordEssaysStored',
          description: 'Essays stored early are remembered; the pipeline still waits for validation.',
        },
        VALIDATION_ERRORS: {
          guard: 'notCriticalFailure',
          actions: 'recordValidationErrors',
          description: 'A late report of essays that failed validation is recorded.',
        },
        CANCEL: { target: 'cancelled', actions: 'clearDeadline', description: 'The owner cancels the batch.' },
      },
      states: {
        awaiting_suggestions: {
          description: 'The student-matching command is out; waiting for the NLP matcher\'s suggestions.',
          on: {
            AUTHOR_MATCHES_SUGGESTED: {
              guard: 'suggestionsAreForThisClass',
              target: 'awaiting_teacher',
              actions: 'storeSuggestionsAndStartDeadline',
              description: 'Suggestions become pending associations, and the validation deadline starts.',
            },
          },
        },
        awaiting_teacher: {
          description: 'Associations are pending; the teacher decides, or the deadline decides for them.',
          always: {
            guard: 'noAssociationPending',
            target: '#batch.student_validation_completed',
            actions: ['clearDeadline', 'emitAssociationsConfirmed'],
            description: 'Nothing is left pending: StudentAssociationsConfirmedV1 goes out.',
          },
          on: {
            TEACHER_DECISIONS: {
              guard: 'someDecisionApplies',
              actions: 'applyTeacherDecisions',
              description: 'The teacher confirms, corrects or rejects pending associations; each decision is announced.',
            },
            VALIDATION_TIMEOUT: {
              guard: 'deadlineIsCurrent',
              actions: 'applyTimeoutToPending',
              description: 'The deadline passed: every pending association is decided by confidence.',
            },
            DEADLINE_CHANGED: {
              guard: 'newDeadlineIsInTheFuture',
              actions: 'moveDeadline',
              description: 'The teacher moves the deadline; timers for the old one become stale.',
            },
          },
        },
      },
    },
    student_validation_completed: {
      description: 'Every association is settled; waiting for the essays to be stored.',
      always: {
        guard: 'essaysStored',
        target: 'ready_for_pipeline_execution',
        description: 'The essays were already stored.',
      },
      on: {
        ESSAYS_READY: {
          guard: 'classTypeMatches',
          target: 'ready_for_pipeline_execution',
          actions: 'recordEssaysStored',
          description: 'The essays are stored.',
        },
        VALIDATION_ERRORS: {
          guard: 'notCriticalFailure',
          actions: 'recordValidationErrors',
          description: 'A late report of essays that failed validation is recorded.',
        },
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
    },
    ready_for_pipeline_execution: {
      description:
        'Ready: associations settled and essays stored (REGULAR), or content provisioned (GUEST). Pipelines start from here, and the batch stays here while they run, as in the real orchestrator.',
      on: {
        PIPELINE_REQUESTED: {
          actions: ['recordPipeline', 'emitSpellcheckCommand'],
          description: 'The client starts a pipeline: its first phase, spellcheck, is commanded.',
        },
        ESSAYS_READY: {
          guard: 'isGuestEssaysReady',
          actions: 'recordEssaysStored',
          description: 'A BatchEssaysReady for a GUEST batch changes nothing but is recorded.',
        },
        VALIDATION_ERRORS: {
          guard: 'notCriticalFailure',
          actions: 'recordValidationErrors',
          description: 'A late report of essays that failed validation is recorded.',
        },
        CANCEL: {
          guard: 'noPipelineRequested',
          target: 'cancelled',
          description: 'The owner cancels the batch before any pipeline was requested.',
        },
      },
    },
    cancelled: { type: 'final', description: 'The owner cancelled the batch.' },
  },
});

export { pendingCount, toAssociationEvent } from './batch-rules.ts';
