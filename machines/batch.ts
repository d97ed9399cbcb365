import { and, assertEvent, assign, emit, enqueueActions, not, setup } from 'xstate';
import { type AssociationEvent, stepAssociation } from './association.ts';
import type { BatchContext, BatchInput } from './batch-context.ts';
import { courseOf } from './domain.ts';
import type { BatchEvent } from './events.ts';
import {
  associationsFromSuggestions,
  correction,
  countsAfterSteps,
  countsOf,
  everyAssociation,
  everyCorrectionApplies,
  pauseOf,
  resumedDueAt,
  stepAssociations,
  timeoutHours,
  reopening,
  toAssociationEvent,
} from './batch-rules.ts';
import {
  associationsConfirmedNotice,
  associationsCorrectedNotice,
  confirmationRequired,
  pipelineDeniedNotice,
  processingStarted,
  timeoutProcessedNotice,
} from './batch-notifications.ts';
import { type BatchEmitted, associationUpdated, associationsConfirmed, studentMatchingCommand, timeoutProcessed } from './outbound.ts';
import { phaseCommand, pipelineDenied } from './phase-commands.ts';
import { dispatched, phaseFinished, phasesToRun, requestIsRepeat } from './pipelines.ts';

export const BATCH_MACHINE_ID = 'batch';
/** Bumped with every change of states or context keys; batch-context.ts says what each version changed. */
export const BATCH_MACHINE_VERSION = 5; // v5: the context's `pause` (VALIDATION_PAUSED, VALIDATION_RESUMED)

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
    someReopeningApplies: ({ context, event }) => {
      assertEvent(event, 'TEACHER_REOPENED');
      return event.essay_ids.some((essayId) => {
        const current = context.associations[essayId];
        return current !== undefined && stepAssociation(current, reopening(event)).accepted;
      });
    },
    everyCorrectionApplies: ({ context, event }) => {
      assertEvent(event, 'TEACHER_CORRECTED');
      return everyCorrectionApplies(context.associations, event);
    },
    /** A correction after validation, before any pipeline was requested: downstream has not read the authors yet. */
    correctionBeforePipeline: and(['noPipelineRequested', 'everyCorrectionApplies']),
    noAssociationPending: ({ context }) => context.association_counts.pending === 0,
    deadlineIsCurrent: ({ context, event }) => {
      assertEvent(event, 'VALIDATION_TIMEOUT');
      return context.deadline?.version === event.deadline_version;
    },
    notPaused: ({ context }) => context.pause === null,
    /** A timeout of the current deadline while it runs; while paused the deadline does not fire (the race). */
    deadlineRunsOut: and(['deadlineIsCurrent', 'notPaused']),
    newDeadlineIsInTheFuture: ({ event }) => {
      assertEvent(event, 'DEADLINE_CHANGED');
      return Date.parse(event.due_at) > Date.parse(event.at);
    },
    /** A paused deadline is moved by resuming it first. */
    runningDeadlineMovesAhead: and(['newDeadlineIsInTheFuture', 'notPaused']),
    deadlineCanPause: ({ context, event }) => {
      assertEvent(event, 'VALIDATION_PAUSED');
      return pauseOf(context, event) !== null;
    },
    resumeApplies: ({ context, event }) => {
      assertEvent(event, 'VALIDATION_RESUMED');
      if (context.pause === null) return false;
      // The pause's end fires with the deadline version it set; a stale one (resumed and paused again) is late.
      return event.deadline_version === null || context.deadline?.version === event.deadline_version;
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
    pipelineRequestStartsNothing: ({ context, event }) => {
      assertEvent(event, 'PIPELINE_REQUESTED');
      return requestIsRepeat(context.pipeline_state, event.pipeline) || phasesToRun(context.pipeline_state, event.pipeline).length === 0;
    },
    creditsDenied: ({ event }) => {
      assertEvent(event, 'PIPELINE_REQUESTED');
      return !event.credits.allowed;
    },
    somePipelineStarted: ({ context }) => context.pipeline_state !== null,
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
    storeSuggestionsAndStartDeadline: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'AUTHOR_MATCHES_SUGGESTED');
      const version = context.deadline_version + 1;
      const associations = associationsFromSuggestions(context, event);
      const association_counts = countsOf(associations);
      enqueue.assign({ associations, association_counts, deadline: { due_at: event.due_at, version }, deadline_version: version });
      enqueue.emit(confirmationRequired(context, association_counts.total, event.due_at, event.at));
    }),
    applyTeacherDecisions: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'TEACHER_DECISIONS');
      const steps = event.decisions.map((d): [string, AssociationEvent] => [d.essay_id, toAssociationEvent(d, event)]);
      const { associations, stepped, decided } = stepAssociations(context.associations, steps);
      for (const record of decided) enqueue.emit(associationUpdated(context, record, event.students, event.at));
      enqueue.assign({ associations, association_counts: countsAfterSteps(context.association_counts, stepped) });
    }),
    reopenTeacherDecisions: assign(({ context, event }) => {
      assertEvent(event, 'TEACHER_REOPENED');
      const steps = event.essay_ids.map((essayId): [string, AssociationEvent] => [essayId, reopening(event)]);
      const { associations, stepped } = stepAssociations(context.associations, steps);
      return { associations, association_counts: countsAfterSteps(context.association_counts, stepped) };
    }),
    applyTeacherCorrections: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'TEACHER_CORRECTED');
      const steps = event.corrections.map((c): [string, AssociationEvent] => [c.essay_id, correction(c, event)]);
      const { associations, stepped, decided } = stepAssociations(context.associations, steps);
      for (const record of decided) enqueue.emit(associationUpdated(context, record, event.students, event.at));
      enqueue.emit(associationsCorrectedNotice(context, decided, associations, context.timeout_triggered, event.at));
      enqueue.assign({ associations, association_counts: countsAfterSteps(context.association_counts, stepped) });
    }),
    applyTimeoutToPending: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'VALIDATION_TIMEOUT');
      const timeout = { type: 'TIMEOUT' as const, at: event.at, unknown_student_id: event.unknown_student_id };
      const { associations, stepped, decided } = stepAssociations(
        context.associations,
        Object.keys(context.associations).map((id) => [id, timeout]),
      );
      for (const record of decided) enqueue.emit(associationUpdated(context, record, event.students, event.at));
      const hours = timeoutHours(context.associations, event.at);
      enqueue.emit(timeoutProcessed(context, decided, event.students, hours, event.at));
      enqueue.emit(timeoutProcessedNotice(context, decided, event.students, hours, event.at));
      enqueue.assign({
        associations,
        association_counts: countsAfterSteps(context.association_counts, stepped),
        timeout_triggered: true,
      });
    }),
    moveDeadline: assign(({ context, event }) => {
      assertEvent(event, 'DEADLINE_CHANGED');
      const version = context.deadline_version + 1;
      return { deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    pauseDeadline: assign(({ context, event }) => {
      assertEvent(event, 'VALIDATION_PAUSED');
      const pause = pauseOf(context, event)!;
      if (pause.until === null) return { pause, deadline: null };
      // The pause's end is a deadline of its own version: the same timers and sweep fire the resume.
      const version = context.deadline_version + 1;
      return { pause, deadline: { due_at: pause.until, version }, deadline_version: version };
    }),
    resumeDeadline: assign(({ context, event }) => {
      assertEvent(event, 'VALIDATION_RESUMED');
      const version = context.deadline_version + 1;
      return { pause: null, deadline: { due_at: resumedDueAt(context.pause!, event), version }, deadline_version: version };
    }),
    clearDeadline: assign({ deadline: null, pause: null }),
    emitAssociationsConfirmed: enqueueActions(({ context, event, enqueue }) => {
      const every = everyAssociation(context);
      enqueue.emit(associationsConfirmed(context, every, context.timeout_triggered, event.at));
      enqueue.emit(associationsConfirmedNotice(context, every, context.timeout_triggered, event.at));
    }),
    recordEssaysStored: assign(({ event }) => {
      assertEvent(event, 'ESSAYS_READY');
      return { essays_stored: true, student_prompt_ref: event.student_prompt_ref ?? null };
    }),
    startPipeline: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'PIPELINE_REQUESTED');
      const phases = phasesToRun(context.pipeline_state, event.pipeline);
      // The real orchestrator keeps a request's prompt with the batch for every later phase.
      const prompt = event.prompt_payload;
      const started = {
        ...context,
        pipeline: event.pipeline,
        prompt_payload: prompt,
        assignment_id: prompt?.assignment_id ?? context.assignment_id,
        student_prompt_ref: prompt?.cms_prompt_ref ?? context.student_prompt_ref,
        pipeline_state: dispatched(context.pipeline_state, phases, event.at),
      };
      enqueue.assign({
        pipeline: started.pipeline,
        prompt_payload: started.prompt_payload,
        assignment_id: started.assignment_id,
        student_prompt_ref: started.student_prompt_ref,
        pipeline_state: started.pipeline_state,
      });
      enqueue.emit(phaseCommand(phases[0]!, started, context.essays, event.at));
      enqueue.emit(processingStarted(context, event.pipeline, phases, event.at));
    }),
    skipPipelineRequest: assign(({ context }) => ({ skipped_pipeline_requests: context.skipped_pipeline_requests + 1 })),
    denyPipeline: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'PIPELINE_REQUESTED');
      if (event.credits.allowed) return;
      enqueue.assign({ denied_pipeline_requests: context.denied_pipeline_requests + 1 });
      enqueue.emit(pipelineDenied(context, event.pipeline, event.credits, event.at));
      enqueue.emit(pipelineDeniedNotice(context, event.pipeline, event.credits, event.at));
    }),
    recordPhaseOutcome: assign(({ context, event }) => {
      assertEvent(event, 'PHASE_OUTCOME');
      return { pipeline_state: phaseFinished(context.pipeline_state, event.phase, event.outcome, event.at) };
    }),
    recordPromptAmendment: assign(({ event }) => {
      assertEvent(event, 'PROMPT_AMENDED');
      return { student_prompt_ref: event.student_prompt_ref };
    }),
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
    pause: null,
    timeout_triggered: false,
    essays_stored: false,
    pipeline: null,
    prompt_payload: null,
    student_prompt_ref: input.student_prompt_ref ?? null,
    validation_errors: 0,
    org_id: input.org_id ?? null,
    assignment_id: input.assignment_id ?? null,
    cj_default_llm_model: input.cj_default_llm_model ?? null,
    cj_default_temperature: input.cj_default_temperature ?? null,
    pipeline_state: null,
    skipped_pipeline_requests: 0,
    denied_pipeline_requests: 0,
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
        PROMPT_AMENDED: {
          actions: 'recordPromptAmendment',
          description: 'The owner attaches or replaces the student prompt before the content is in.',
        },
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
      description: "REGULAR batch: the essays' authors are being matched and confirmed.",
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
          description: "The student-matching command is out; waiting for the NLP matcher's suggestions.",
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
            TEACHER_REOPENED: {
              guard: 'someReopeningApplies',
              actions: 'reopenTeacherDecisions',
              description:
                'The teacher takes back decisions they made: those associations are pending again, for the teacher or the deadline. Nothing goes on the wire; the next decision is announced as usual.',
            },
            VALIDATION_TIMEOUT: {
              guard: 'deadlineRunsOut',
              actions: 'applyTimeoutToPending',
              description: 'The deadline passed: every pending association is decided by confidence. Not while the deadline is paused.',
            },
            DEADLINE_CHANGED: {
              guard: 'runningDeadlineMovesAhead',
              actions: 'moveDeadline',
              description: 'The teacher moves the deadline; timers for the old one become stale. A paused deadline is resumed first.',
            },
            VALIDATION_PAUSED: {
              guard: 'deadlineCanPause',
              actions: 'pauseDeadline',
              description:
                'A teacher (or an operator, for a class) pauses the running deadline: the time it had left is kept and it does not fire. With an end, the pause is a deadline of its own whose firing resumes it. Decisions go on. Nothing goes on the wire.',
            },
            VALIDATION_RESUMED: {
              guard: 'resumeApplies',
              actions: 'resumeDeadline',
              description:
                "The paused deadline runs again with the time it had left, from the resume (or from the pause's end when that fired it). Nothing goes on the wire.",
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
        TEACHER_CORRECTED: {
          guard: 'everyCorrectionApplies',
          actions: 'applyTeacherCorrections',
          description:
            'The teacher corrects decided associations (their own, or those of the deadline: a kept suggestion or UNKNOWN) to other students of the class, all or none; each correction goes out as EssayStudentAssociationUpdatedV1 and the teacher is notified (student_associations_confirmed with the corrected essays). No second StudentAssociationsConfirmedV1.',
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
        PIPELINE_REQUESTED: [
          {
            guard: 'pipelineRequestStartsNothing',
            actions: 'skipPipelineRequest',
            description:
              'A pipeline is running, or every phase of this one is done: the request is answered and skipped, as the real orchestrator does; nothing is sent.',
          },
          {
            guard: 'creditsDenied',
            actions: 'denyPipeline',
            description: 'The entitlements check refused the credits: PipelineDeniedV1 and the teacher is told.',
          },
          {
            actions: 'startPipeline',
            description: 'The pipeline starts at its first phase not yet completed, whose command goes out; the teacher is told.',
          },
        ],
        TEACHER_CORRECTED: {
          guard: 'correctionBeforePipeline',
          actions: 'applyTeacherCorrections',
          description:
            'Until a pipeline is requested, the teacher corrects decided associations (their own, or those of the deadline: a kept suggestion or UNKNOWN) to other students of the class, all or none; each correction goes out as EssayStudentAssociationUpdatedV1 and the teacher is notified (student_associations_confirmed with the corrected essays). No second StudentAssociationsConfirmedV1. Once one is requested, downstream has read the authors and corrections are refused.',
        },
        PHASE_OUTCOME: {
          guard: 'somePipelineStarted',
          actions: 'recordPhaseOutcome',
          description: 'A phase of a started pipeline finished; its outcome decides what a later request still has to run.',
        },
        PROMPT_AMENDED: {
          actions: 'recordPromptAmendment',
          description: 'The owner attaches or replaces the student prompt for the phases still to come.',
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
