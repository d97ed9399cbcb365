import { and, assertEvent, assign, emit, enqueueActions, not, setup } from 'xstate';
import { type AssociationEvent, stepAssociation } from './association.ts';
import type { BatchContext, BatchInput } from './batch-context.ts';
import { courseOf } from './domain.ts';
import type { BatchEvent } from './events.ts';
import { associationsFromSuggestions, countsAfterDecisions, countsOf, everyAssociation, stepAssociations, timeoutHours, toAssociationEvent } from './batch-rules.ts';
import {
  type BatchEmitted,
  associationUpdated,
  associationsConfirmed,
  spellcheckCommand,
  studentMatchingCommand,
  timeoutProcessed,
} from './outbound.ts';

export const BATCH_MACHINE_ID = 'batch';
/** Bumped with every change of states or context keys; batch-context.ts says what each version changed. */
export const BATCH_MACHINE_VERSION = 3;

export type { BatchContext, BatchInput, Deadline } from './batch-context.ts';
export type { BatchEmitted } from './outbound.ts';

export const batchMachine = setup({
  types: {} as {
    context: BatchContext;
    input: BatchInput;
    events: BatchEvent;
    emitted: BatchEmitted;
  },
  guards: {
    nothingProvisioned: ({ event }) => {
      assertEvent(event, 'CONTENT_PROVISIONED');
      return event.provisioned_count === 0;
    },
    isRegularBatch: ({ context }) => context.class_id !== null,
    isGuestBatch: ({ context }) => context.class_type === 'GUEST',
    suggestionsAreForThisClass: ({ context, event }) => {
      assertEvent(event, 'AUTHOR_MATCHES_SUGGESTED');
      return event.class_id === context.class_id;
    },
    someDecisionApplies: ({ context, event }) => {
      assertEvent(event, 'TEACHER_DECISIONS');
      return event.decisions.some((d) => {
        const current = context.associations[d.essay_id];
        return current !== undefined && stepAssociation(current, toAssociationEvent(d, event)).accepted;
      });
    },
    noAssociationPending: ({ context }) => context.association_counts.pending === 0,
    deadlineIsCurrent: ({ context, event }) => {
      assertEvent(event, 'VALIDATION_TIMEOUT');
      return context.deadline?.version === event.deadline_version;
    },
    newDeadlineIsInTheFuture: ({ event }) => {
      assertEvent(event, 'DEADLINE_CHANGED');
      return Date.parse(event.due_at) > Date.parse(event.at);
    },
    classTypeMatches: ({ context, event }) => {
      assertEvent(event, 'ESSAYS_READY');
      return event.class_type === context.class_type;
    },
    essaysStored: ({ context }) => context.essays_stored,
    /** ESSAYS_READY while the authors are still being validated, the first time. */
    essaysArriveEarly: and(['classTypeMatches', not('essaysStored')]),
    /** ESSAYS_READY of a GUEST batch, which was ready without it. */
    guestEssaysReady: and(['isGuestBatch', 'classTypeMatches']),
    noPipelineRequested: ({ context }) => context.pipeline === null,
    criticalFailure: ({ event }) => {
      assertEvent(event, 'VALIDATION_ERRORS');
      return event.critical;
    },
    notCriticalFailure: not('criticalFailure'),
  },
  actions: {
    recordProvisionedEssays: assign(({ event }) => {
      assertEvent(event, 'CONTENT_PROVISIONED');
      return { essays: event.essays };
    }),
    emitStudentMatchingCommand: emit(({ context, event }) => studentMatchingCommand(context, context.essays, event.at)),
    storeSuggestionsAndStartDeadline: assign(({ context, event }) => {
      assertEvent(event, 'AUTHOR_MATCHES_SUGGESTED');
      const version = context.deadline_version + 1;
      const associations = associationsFromSuggestions(context, event);
      return { associations, association_counts: countsOf(associations), deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    applyTeacherDecisions: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'TEACHER_DECISIONS');
      const steps = event.decisions.map((d): [string, AssociationEvent] => [d.essay_id, toAssociationEvent(d, event)]);
      const { associations, decided } = stepAssociations(context.associations, steps);
      for (const record of decided) enqueue.emit(associationUpdated(context, record, event.students, event.at));
      enqueue.assign({ associations, association_counts: countsAfterDecisions(context.association_counts, decided) });
    }),
    applyTimeoutToPending: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'VALIDATION_TIMEOUT');
      const timeout = { type: 'TIMEOUT' as const, at: event.at, unknown_student_id: event.unknown_student_id };
      const { associations, decided } = stepAssociations(context.associations, Object.keys(context.associations).map((id) => [id, timeout]));
      for (const record of decided) enqueue.emit(associationUpdated(context, record, event.students, event.at));
      enqueue.emit(timeoutProcessed(context, decided, event.students, timeoutHours(context.associations, event.at), event.at));
      enqueue.assign({ associations, association_counts: countsAfterDecisions(context.association_counts, decided), timeout_triggered: true });
    }),
    moveDeadline: assign(({ context, event }) => {
      assertEvent(event, 'DEADLINE_CHANGED');
      const version = context.deadline_version + 1;
      return { deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    clearDeadline: assign({ deadline: null }),
    emitAssociationsConfirmed: emit(({ context, event }) =>
      associationsConfirmed(context, everyAssociation(context), context.timeout_triggered, event.at),
    ),
    recordEssaysStored: assign(({ event }) => {
      assertEvent(event, 'ESSAYS_READY');
      return { essays_stored: true, student_prompt_ref: event.student_prompt_ref ?? null };
    }),
    recordPipeline: assign(({ event }) => {
      assertEvent(event, 'PIPELINE_REQUESTED');
      return { pipeline: event.pipeline, prompt_payload: event.prompt_payload };
    }),
    emitSpellcheckCommand: emit(({ context, event }) => spellcheckCommand(context, context.essays, event.at)),
    recordValidationErrors: assign(({ context, event }) => {
      assertEvent(event, 'VALIDATION_ERRORS');
      return { validation_errors: context.validation_errors + event.total_errors };
    }),
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
    association_counts: { total: 0, pending: 0 },
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
      exit: 'clearDeadline', // however validation ends (settled or cancelled), its deadline ends with it
      on: {
        ESSAYS_READY: {
          guard: 'essaysArriveEarly',
          actions: 'recordEssaysStored',
          description: 'Essays stored early are remembered; the pipeline still waits for validation.',
        },
        VALIDATION_ERRORS: {
          guard: 'notCriticalFailure',
          actions: 'recordValidationErrors',
          description: 'A late report of essays that failed validation is recorded.',
        },
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
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
            actions: 'emitAssociationsConfirmed',
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
          guard: 'guestEssaysReady',
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
