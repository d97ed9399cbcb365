import { assign, emit, setup } from 'xstate';
import { type AssociationRecord, newAssociation, stepAssociation } from './association.ts';
import { type ClassType, type CourseCode, courseOf } from './domain.ts';
import { type BatchEvent, type EssayRef, TOPICS } from './events.ts';

export const BATCH_MACHINE_ID = 'batch';
export const BATCH_MACHINE_VERSION = 1;

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
  pipeline: string | null;
}

export interface ValidationSummary {
  total_associations: number;
  confirmed: number;
  rejected: number;
  timeout_confirmed: number;
  no_match: number;
  human_validated: number;
  timeout_validated: number;
}

export type BatchEmitted =
  | {
      type: typeof TOPICS.studentMatchingCommand;
      data: { batch_id: string; essays_to_process: EssayRef[]; class_id: string; course_code: CourseCode };
    }
  | {
      type: typeof TOPICS.associationsConfirmed;
      data: {
        batch_id: string;
        class_id: string;
        course_code: CourseCode;
        associations: Array<{
          essay_id: string;
          student_id: string | null;
          confidence_score: number;
          validation_method: string | null;
          validated_by: string | null;
          validated_at: string | null;
        }>;
        timeout_triggered: boolean;
        validation_summary: ValidationSummary;
      };
    }
  | {
      type: typeof TOPICS.pipelineStarted;
      data: { batch_id: string; requested_pipeline: string; requested_by: string; course_code: CourseCode };
    };

export function validationSummary(associations: Record<string, AssociationRecord>): ValidationSummary {
  const summary: ValidationSummary = {
    total_associations: 0,
    confirmed: 0,
    rejected: 0,
    timeout_confirmed: 0,
    no_match: 0,
    human_validated: 0,
    timeout_validated: 0,
  };
  for (const a of Object.values(associations)) {
    summary.total_associations++;
    if (a.validation_status !== 'pending_validation') summary[a.validation_status]++;
    if (a.validation_method === 'human') summary.human_validated++;
    if (a.validation_method === 'timeout') summary.timeout_validated++;
  }
  return summary;
}

export function pendingCount(associations: Record<string, AssociationRecord>): number {
  let n = 0;
  for (const a of Object.values(associations)) if (a.validation_status === 'pending_validation') n++;
  return n;
}

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
    essaysStored: ({ context }) => context.essays_stored,
  },
  actions: {
    recordProvisionedEssays: assign(({ event }) =>
      event.type === 'CONTENT_PROVISIONED' ? { essays: event.essays } : {},
    ),
    emitStudentMatchingCommand: emit(({ context }) => ({
      type: TOPICS.studentMatchingCommand,
      data: {
        batch_id: context.batch_id,
        essays_to_process: context.essays,
        class_id: context.class_id ?? '',
        course_code: context.course_code,
      },
    })),
    storeSuggestionsAndStartDeadline: assign(({ context, event }) => {
      if (event.type !== 'AUTHOR_MATCHES_SUGGESTED') return {};
      const associations: Record<string, AssociationRecord> = {};
      const storageIds = new Map(context.essays.map((e) => [e.essay_id, e.text_storage_id]));
      for (const m of event.matches) storageIds.set(m.essay_id, m.text_storage_id);
      for (const [essay_id, text_storage_id] of storageIds) {
        const suggestion = event.matches.find((m) => m.essay_id === essay_id)?.suggestion ?? null;
        associations[essay_id] = newAssociation({
          essay_id,
          batch_id: context.batch_id,
          class_id: event.class_id,
          text_storage_id,
          created_by_user_id: event.created_by,
          created_at: event.at,
          suggested_student_id: suggestion?.student_id ?? null,
          confidence_score: suggestion?.confidence_score ?? null,
          match_reasons: suggestion?.match_reasons ?? null,
        });
      }
      const version = context.deadline_version + 1;
      return { associations, deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    applyTeacherDecisions: assign(({ context, event }) => {
      if (event.type !== 'TEACHER_DECISIONS') return {};
      const associations = { ...context.associations };
      for (const d of event.decisions) {
        const current = associations[d.essay_id];
        if (current) associations[d.essay_id] = stepAssociation(current, toAssociationEvent(d, event)).record;
      }
      return { associations };
    }),
    applyTimeoutToPending: assign(({ context, event }) => {
      if (event.type !== 'VALIDATION_TIMEOUT') return {};
      const associations = { ...context.associations };
      for (const [essayId, current] of Object.entries(associations)) {
        associations[essayId] = stepAssociation(current, {
          type: 'TIMEOUT',
          at: event.at,
          unknown_student_id: event.unknown_student_id,
        }).record;
      }
      return { associations, timeout_triggered: true };
    }),
    moveDeadline: assign(({ context, event }) => {
      if (event.type !== 'DEADLINE_CHANGED') return {};
      const version = context.deadline_version + 1;
      return { deadline: { due_at: event.due_at, version }, deadline_version: version };
    }),
    clearDeadline: assign({ deadline: null }),
    emitAssociationsConfirmed: emit(({ context }) => ({
      type: TOPICS.associationsConfirmed,
      data: {
        batch_id: context.batch_id,
        class_id: context.class_id ?? '',
        course_code: context.course_code,
        associations: Object.values(context.associations).map((a) => ({
          essay_id: a.essay_id,
          student_id: a.student_id,
          confidence_score: a.validation_status === 'no_match' ? 0 : (a.confidence_score ?? 0),
          validation_method: a.validation_method,
          validated_by: a.validated_by,
          validated_at: a.validated_at,
        })),
        timeout_triggered: context.timeout_triggered,
        validation_summary: validationSummary(context.associations),
      },
    })),
    recordEssaysStored: assign({ essays_stored: true }),
    recordPipeline: assign(({ event }) => (event.type === 'PIPELINE_REQUESTED' ? { pipeline: event.pipeline } : {})),
    emitPipelineStarted: emit(({ context, event }) => ({
      type: TOPICS.pipelineStarted,
      data: {
        batch_id: context.batch_id,
        requested_pipeline: event.type === 'PIPELINE_REQUESTED' ? event.pipeline : '',
        requested_by: event.type === 'PIPELINE_REQUESTED' ? event.requested_by : '',
        course_code: context.course_code,
      },
    })),
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
            target: 'awaiting_pipeline_configuration',
            actions: 'recordProvisionedEssays',
            description: 'A GUEST batch skips student validation.',
          },
        ],
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
    },
    content_ingestion_failed: {
      type: 'final',
      description: 'Content provisioning produced no essays; the batch cannot proceed.',
    },
    awaiting_pipeline_configuration: {
      description: 'GUEST batch: content is provisioned; waiting for the essays to be stored before a pipeline may run.',
      on: {
        ESSAYS_READY: {
          guard: 'classTypeMatches',
          target: 'ready_for_pipeline_execution',
          actions: 'recordEssaysStored',
          description: 'The essays are stored.',
        },
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
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
              description: 'The teacher confirms, corrects or rejects pending associations.',
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
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
    },
    ready_for_pipeline_execution: {
      description: 'Associations settled and essays stored: a pipeline may start.',
      on: {
        PIPELINE_REQUESTED: {
          target: 'processing_pipelines',
          actions: ['recordPipeline', 'emitPipelineStarted'],
          description: 'The client starts a processing pipeline.',
        },
        CANCEL: { target: 'cancelled', description: 'The owner cancels the batch.' },
      },
    },
    processing_pipelines: {
      description: 'A pipeline is running. Its outcome belongs to later phases.',
    },
    cancelled: { type: 'final', description: 'The owner cancelled the batch.' },
  },
});

function toAssociationEvent(
  d: { confirmed: boolean; student_id?: string; student_in_class: boolean },
  event: { at: string; teacher_id: string },
) {
  return d.confirmed
    ? { type: 'CONFIRM' as const, at: event.at, by: event.teacher_id, student_id: d.student_id, student_in_class: d.student_in_class }
    : { type: 'REJECT' as const, at: event.at, by: event.teacher_id };
}
export { toAssociationEvent };
