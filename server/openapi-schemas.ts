import { z } from '@hono/zod-openapi';
import { AssociationStatus, BatchStatus, ClassType, ConfidenceLevel, CourseCode, ValidationMethod } from '../machines/domain.ts';
import { TOPICS, TOPIC_MODELS } from '../machines/events.ts';

/**
 * What the API answers, as zod schemas for the OpenAPI document. The request schemas stay where the
 * handlers validate with them (schemas.ts, machines/events.ts); these only describe responses, and
 * the conformance test holds the real answers to them. Answers are strict objects so that a field
 * added to an answer without documenting it fails that test.
 *
 * Over 300 lines on purpose: one schema per answer, each a flat list of documented fields; split
 * by route it would scatter the shared pieces (views, history rows) the answers are made of.
 */

export const SECURITY = { service: 'serviceToken', teacher: 'teacherJwt' } as const;

const uuid = z.uuid();
const instant = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();

export const EXAMPLE = {
  batchId: '3f1c2a9e-5b7d-4e8f-9a1b-2c3d4e5f6a7b',
  classId: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
  essayId: 'b1e2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  studentId: 'c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f',
  correlationId: '5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716',
  eventId: '0d9c8b7a-6f5e-4d3c-8b2a-190817263544',
  at: '2026-03-02T09:15:00.000Z',
  dueAt: '2026-03-03T09:15:00.000Z',
} as const;

const appliedShape = {
  event_id: z.string().openapi({ description: 'The inbound event id, or the id this service gave a teacher command.' }),
  batch_id: uuid,
  state: z.string().openapi({ description: 'State value after the event (dotted when nested).' }),
  status: BatchStatus,
  version: count,
  duplicate: z.boolean().openapi({ description: 'True when this event id was applied before; the body is then the first answer.' }),
};

/** The answer of an applied event, as the examples show it. */
export const appliedExample = {
  event_id: EXAMPLE.eventId,
  batch_id: EXAMPLE.batchId,
  state: 'awaiting_student_validation.awaiting_suggestions',
  status: 'awaiting_student_validation',
  version: 2,
  duplicate: false,
};

export const AppliedEvent = z.strictObject(appliedShape).openapi('AppliedEvent', {
  description: 'The event was applied (or had been: `duplicate: true`).',
  example: appliedExample,
});

export const AppliedClassEvent = z
  .strictObject({
    event_id: z.string(),
    event_type: z.string(),
    class_id: uuid.nullable(),
    student_id: uuid.nullable(),
    duplicate: z.boolean(),
  })
  .openapi('AppliedClassEvent', {
    description: 'A class service event applied to the roster (or had been: `duplicate: true`).',
    example: {
      event_id: EXAMPLE.eventId,
      event_type: TOPICS.studentCreated,
      class_id: EXAMPLE.classId,
      student_id: EXAMPLE.studentId,
      duplicate: false,
    },
  });

const DecisionResult = z
  .discriminatedUnion('outcome', [
    z.strictObject({ essay_id: uuid, outcome: z.literal('applied'), validation_status: AssociationStatus, student_id: uuid.nullable() }),
    z.strictObject({ essay_id: uuid, outcome: z.literal('refused'), reason: z.string(), validation_status: AssociationStatus.nullable() }),
  ])
  .openapi('DecisionResult');

export const DecisionsApplied = z
  .strictObject({
    ...appliedShape,
    results: z.array(DecisionResult).openapi({ description: 'One result per decision, in request order.' }),
    associations_confirmed: z
      .number()
      .int()
      .openapi({ description: "Decisions of this call that confirmed or corrected an association (the class service's answer field)." }),
    associations_rejected: z.number().int().openapi({ description: 'Decisions of this call that rejected an association.' }),
  })
  .openapi('DecisionsApplied', {
    example: {
      ...appliedExample,
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'ready_for_pipeline_execution',
      status: 'ready_for_pipeline_execution',
      version: 5,
      results: [{ essay_id: EXAMPLE.essayId, outcome: 'applied', validation_status: 'confirmed', student_id: EXAMPLE.studentId }],
      associations_confirmed: 1,
      associations_rejected: 0,
    },
  });

const ReopenResult = z
  .discriminatedUnion('outcome', [
    z.strictObject({
      essay_id: uuid,
      outcome: z.literal('applied'),
      validation_status: AssociationStatus,
      reopened_from: AssociationStatus,
    }),
    z.strictObject({ essay_id: uuid, outcome: z.literal('refused'), reason: z.string(), validation_status: AssociationStatus.nullable() }),
  ])
  .openapi('ReopenResult');

export const ReopenApplied = z
  .strictObject({
    ...appliedShape,
    results: z.array(ReopenResult).openapi({ description: 'One result per essay, in request order.' }),
    associations_reopened: z.number().int().openapi({ description: 'Associations this call put back to pending.' }),
  })
  .openapi('ReopenApplied', {
    example: {
      ...appliedExample,
      event_id: 'cmd-7a1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'awaiting_student_validation.awaiting_teacher',
      status: 'awaiting_student_validation',
      version: 5,
      results: [{ essay_id: EXAMPLE.essayId, outcome: 'applied', validation_status: 'pending_validation', reopened_from: 'confirmed' }],
      associations_reopened: 1,
    },
  });

/** The orchestrator's answer to a registration (`POST /v1/batches/register`). */
export const RegistrationAccepted = z
  .strictObject({ batch_id: z.uuid(), correlation_id: z.uuid(), status: z.literal('registered') })
  .openapi('RegistrationAccepted', {
    example: { batch_id: EXAMPLE.batchId, correlation_id: '0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b', status: 'registered' },
  });

export const DeadlineChanged = z
  .strictObject({
    ...appliedShape,
    due_at: instant.openapi({ description: 'The new deadline.' }),
  })
  .openapi('DeadlineChanged', {
    example: {
      ...appliedExample,
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      state: 'awaiting_student_validation.awaiting_teacher',
      version: 4,
      due_at: EXAMPLE.dueAt,
    },
  });

const BATCH_EXAMPLE = {
  batch_id: EXAMPLE.batchId,
  class_id: EXAMPLE.classId,
  class_type: 'REGULAR',
  course_code: 'ENG5',
  language: 'en',
  expected_essay_count: 3,
  correlation_id: EXAMPLE.correlationId,
  status: 'awaiting_student_validation',
  state: 'awaiting_student_validation.awaiting_teacher',
  version: 3,
  prompt_payload: null,
  student_prompt_ref: null,
  created_at: EXAMPLE.at,
  updated_at: EXAMPLE.at,
  validation: { due_at: EXAMPLE.dueAt, pending: 3, confirmed: 0, rejected: 0, timeout_confirmed: 0, no_match: 0 },
};

export const BatchView = z
  .strictObject({
    batch_id: uuid,
    class_id: uuid.nullable().openapi({ description: 'Null for a GUEST batch.' }),
    class_type: ClassType,
    course_code: CourseCode,
    language: z.enum(['en', 'sv']),
    expected_essay_count: count,
    correlation_id: uuid,
    status: BatchStatus,
    state: z.string(),
    version: count,
    prompt_payload: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'The `prompt_payload` of the last pipeline request (PipelinePromptPayload), kept for later phases.' }),
    student_prompt_ref: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "BatchEssaysReady's `student_prompt_ref` (StorageReferenceMetadata), kept for later phases." }),
    created_at: instant,
    updated_at: instant,
    validation: z.strictObject({
      due_at: instant
        .nullable()
        .openapi({ description: 'When pending associations will be decided by the timeout; null when none is due.' }),
      pending: count,
      confirmed: count,
      rejected: count,
      timeout_confirmed: count,
      no_match: count,
    }),
  })
  .openapi('Batch', { example: BATCH_EXAMPLE });

export const BatchList = z.strictObject({ batches: z.array(BatchView) }).openapi('BatchList', {
  example: { batches: [BATCH_EXAMPLE] },
});

const Association = z
  .strictObject({
    essay_id: uuid,
    student_id: uuid.nullable(),
    student: z.strictObject({ name: z.string(), email: z.email().nullable() }).nullable(),
    suggested_student_id: uuid.nullable(),
    confidence_score: z.number().min(0).max(1).nullable(),
    confidence_level: ConfidenceLevel,
    match_reasons: z.array(z.string()).nullable(),
    filename: z
      .string()
      .nullable()
      .openapi({ description: "The matcher's filename of the essay; null for associations stored before it was kept." }),
    suggestions: z
      .array(
        z.strictObject({
          student_id: uuid,
          student_name: z.string(),
          student_email: z.string().nullable(),
          confidence_score: z.number().min(0).max(1),
          match_reasons: z.array(z.string()),
        }),
      )
      .openapi({ description: 'Every suggestion of the matcher for this essay, highest confidence first.' }),
    validation_status: AssociationStatus,
    validation_method: ValidationMethod.nullable(),
    validated_by: z.string().nullable().openapi({ description: 'A teacher id, or `SYSTEM_TIMEOUT`.' }),
    validated_at: instant.nullable(),
    due_at: instant.nullable().openapi({ description: 'The deadline, while the association is pending.' }),
    if_no_decision: z.enum(['keep_suggestion', 'unknown_student']).nullable().openapi({
      description: "While pending: what the deadline will do (keep the suggestion at confidence ≥ 0.7, else the class's UNKNOWN student).",
    }),
  })
  .openapi('Association');

export const AssociationList = z.strictObject({ batch_id: uuid, associations: z.array(Association) }).openapi('AssociationList', {
  example: {
    batch_id: EXAMPLE.batchId,
    associations: [
      {
        essay_id: EXAMPLE.essayId,
        student_id: EXAMPLE.studentId,
        student: { name: 'Astrid Lindqvist', email: 'astrid@school.example' },
        suggested_student_id: EXAMPLE.studentId,
        confidence_score: 0.95,
        confidence_level: 'high',
        match_reasons: ['name in header'],
        filename: 'astrid_lindqvist_essay.docx',
        suggestions: [
          {
            student_id: EXAMPLE.studentId,
            student_name: 'Astrid Lindqvist',
            student_email: 'astrid@school.example',
            confidence_score: 0.95,
            match_reasons: ['name in header'],
          },
        ],
        validation_status: 'pending_validation',
        validation_method: null,
        validated_by: null,
        validated_at: null,
        due_at: EXAMPLE.dueAt,
        if_no_decision: 'keep_suggestion',
      },
    ],
  },
});

const HistoryEntry = z
  .strictObject({
    seq: count,
    at: instant,
    event_type: z.string(),
    event_id: z.string().nullable(),
    actor: z.string().openapi({ description: '`service`, a teacher id, or `timeout`.' }),
    from_state: z.string().nullable(),
    to_state: z.string().nullable().openapi({ description: 'Null when the event was refused.' }),
    correlation_id: uuid.nullable(),
    outcome: z.enum(['applied', 'refused', 'late']),
    reason: z.string().nullable().openapi({ description: 'Why an event was refused or late.' }),
    version: count,
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('HistoryEntry');

export const History = z.strictObject({ batch_id: uuid, history: z.array(HistoryEntry) }).openapi('History', {
  example: {
    batch_id: EXAMPLE.batchId,
    history: [
      {
        seq: 1,
        at: EXAMPLE.at,
        event_type: 'BATCH_REGISTERED',
        event_id: null,
        actor: 'teacher-a',
        from_state: null,
        to_state: 'awaiting_content_validation',
        correlation_id: EXAMPLE.correlationId,
        outcome: 'applied',
        reason: null,
        version: 1,
        detail: null,
      },
    ],
  },
});

const OutboundEnvelope = z
  .strictObject({
    event_id: uuid,
    event_type: z.string(),
    event_timestamp: instant,
    source_service: z.string(),
    schema_version: z.number().int().positive(),
    correlation_id: uuid,
    data_schema_uri: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    metadata: z
      .looseObject({
        user_id: z.string(),
        batch_id: uuid.optional().openapi({ description: 'Absent on class-level events (class notifications).' }),
        class_id: uuid.optional(),
        partition_key: z.string().openapi({ description: 'The batch id, or the class id for class-level events.' }),
        traceparent: z.string().optional(),
        tracestate: z.string().optional(),
      })
      .openapi({ description: 'As the real producers fill it; `traceparent`/`tracestate` continue the W3C trace of the cause.' }),
  })
  .openapi('OutboundEnvelope', {
    description: `The real HuleEdu EventEnvelope. Topics and their models: ${Object.entries(TOPIC_MODELS)
      .map(([topic, model]) => `\`${topic}\` (${model})`)
      .join(', ')}.`,
  });

export const OutboxPage = z
  .strictObject({
    events: z.array(
      z.strictObject({
        seq: count,
        topic: z.string().openapi({ example: TOPICS.associationsConfirmed }),
        event_id: uuid,
        batch_id: uuid.nullable().openapi({ description: 'Null for class-level events (class notifications).' }),
        created_at: instant,
        envelope: OutboundEnvelope,
      }),
    ),
    next_after: count.openapi({ description: 'Pass as `after` to get the next page.' }),
  })
  .openapi('OutboxPage', {
    example: {
      events: [
        {
          seq: 7,
          topic: TOPICS.studentMatchingCommand,
          event_id: EXAMPLE.eventId,
          batch_id: EXAMPLE.batchId,
          created_at: EXAMPLE.at,
          envelope: {
            event_id: EXAMPLE.eventId,
            event_type: TOPICS.studentMatchingCommand,
            event_timestamp: EXAMPLE.at,
            source_service: 'huleedu-phase1-state-service',
            schema_version: 1,
            correlation_id: EXAMPLE.correlationId,
            data_schema_uri: null,
            data: {
              event_name: 'batch.student.matching.initiate.command',
              entity_id: EXAMPLE.batchId,
              entity_type: 'batch',
              parent_id: null,
              timestamp: EXAMPLE.at,
              essays_to_process: [{ essay_id: EXAMPLE.essayId, text_storage_id: 'storage-1' }],
              class_id: EXAMPLE.classId,
              course_code: 'ENG5',
            },
            metadata: {
              user_id: 'teacher-a',
              batch_id: EXAMPLE.batchId,
              class_id: EXAMPLE.classId,
              partition_key: EXAMPLE.batchId,
              traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            },
          },
        },
      ],
      next_after: 7,
    },
  });

const DeadlineReason = z
  .discriminatedUnion('rule', [
    z.strictObject({ rule: z.literal('elapsed'), hours: z.number() }),
    z.strictObject({
      rule: z.literal('school_days'),
      days: count,
      time_zone: z.string(),
      local: z.string().openapi({ description: 'The local date and time the deadline falls on, `YYYY-MM-DD HH:MM`.' }),
      skipped: z.array(z.strictObject({ date: z.string(), why: z.enum(['not_a_school_day', 'closed']), name: z.string().optional() })),
      moved_to: z.enum(['opening', 'closing']).nullable(),
      calendar_changed_by: z.string().optional(),
    }),
    z.strictObject({ rule: z.literal('moved'), by: z.string() }),
  ])
  .openapi('DeadlineReason', {
    description:
      'Why the deadline falls when it does: wall-clock hours after the suggestions, the school calendar (the days passed over, and whether the time was moved into opening hours), or moved by a teacher.',
  });

export const DeadlineList = z
  .strictObject({
    deadlines: z.array(
      z.strictObject({
        batch_id: uuid,
        class_id: uuid,
        course_code: CourseCode,
        due_at: instant,
        deadline_version: count,
        pending_associations: count,
        will_keep_suggestion: count.openapi({ description: 'Pending associations the timeout will confirm (confidence ≥ 0.7).' }),
        will_link_unknown_student: count.openapi({
          description: "Pending associations the timeout will link to the class's UNKNOWN student.",
        }),
        why: DeadlineReason.nullable(),
      }),
    ),
    pending_associations: count,
  })
  .openapi('DeadlineList', {
    example: {
      deadlines: [
        {
          batch_id: EXAMPLE.batchId,
          class_id: EXAMPLE.classId,
          course_code: 'ENG5',
          due_at: EXAMPLE.dueAt,
          deadline_version: 1,
          pending_associations: 3,
          will_keep_suggestion: 2,
          will_link_unknown_student: 1,
          why: {
            rule: 'school_days',
            days: 1,
            time_zone: 'Europe/Stockholm',
            local: '2026-12-07 15:05',
            skipped: [
              { date: '2026-12-05', why: 'not_a_school_day' },
              { date: '2026-12-06', why: 'not_a_school_day' },
            ],
            moved_to: null,
          },
        },
      ],
      pending_associations: 3,
    },
  });

const classExample = {
  class_id: EXAMPLE.classId,
  id: EXAMPLE.classId,
  name: 'ENG5 Tuesday group',
  course_code: 'ENG5',
  course_codes: ['ENG5', 'ENG6'],
  created_at: EXAMPLE.at,
};

export const ClassView = z
  .strictObject({
    class_id: uuid,
    id: uuid.openapi({ description: 'The class id again, under the name the real class service answers with.' }),
    name: z.string(),
    course_code: CourseCode,
    course_codes: z.array(CourseCode),
    created_at: instant,
  })
  .openapi('Class', { example: classExample });

export const ClassDetail = z
  .strictObject({ ...ClassView.shape, student_count: count.openapi({ description: 'Members, the UNKNOWN student not counted.' }) })
  .openapi('ClassDetail', { example: { ...classExample, student_count: 24 } });

const email = z
  .string()
  .nullable()
  .openapi({ description: 'Optional, and may hold non-ASCII characters (SMTPUTF8).', example: 'emil.zäll.jernberg@test.edu' });

const PersonName = z
  .strictObject({ first_name: z.string(), last_name: z.string(), legal_full_name: z.string().nullable() })
  .openapi('PersonName', { description: 'PersonNameV1.' });

const Student = z
  .strictObject({
    student_id: uuid,
    first_name: z.string(),
    last_name: z.string(),
    legal_full_name: z.string().nullable(),
    email,
    is_unknown: z.boolean(),
  })
  .openapi('Student');

export const Roster = z.strictObject({ class_id: uuid, students: z.array(Student) }).openapi('Roster', {
  example: {
    class_id: EXAMPLE.classId,
    students: [
      {
        student_id: EXAMPLE.studentId,
        first_name: 'Emil',
        last_name: 'Zäll',
        legal_full_name: null,
        email: 'emil.zäll.jernberg@test.edu',
        is_unknown: false,
      },
    ],
  },
});

const studentDetailExample = {
  id: EXAMPLE.studentId,
  full_name: 'Emil Zäll',
  first_name: 'Emil',
  last_name: 'Zäll',
  person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' },
  email: 'emil.zäll.jernberg@test.edu',
  class_ids: [EXAMPLE.classId],
};

export const StudentDetail = z
  .strictObject({
    id: uuid,
    full_name: z.string().openapi({ description: 'First and last name, as the real class service answers a created student.' }),
    first_name: z.string(),
    last_name: z.string(),
    person_name: PersonName,
    email,
    class_ids: z.array(uuid),
  })
  .openapi('StudentDetail', { example: studentDetailExample });

export const Health = z.strictObject({ status: z.literal('ok') }).openapi('Health');
export const Ready = z.strictObject({ status: z.literal('ready') }).openapi('Ready');
