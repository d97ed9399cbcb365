import { randomUUID } from 'node:crypto';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, type BatchInput, batchMachine } from '../machines/batch.ts';
import { batchStatusOf, stateString } from '../machines/describe.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { initialStep } from '../machines/step.ts';
import { type CourseCode, courseOf } from '../machines/domain.ts';
import type { Db } from '../db/client.ts';
import { writeFirstSnapshot } from '../db/transition-writers.ts';
import { findOwnedClass } from './classes.ts';
import { outboxEnvelope } from './envelope.ts';
import type { TraceCarrier } from './tracing.ts';
import { TOPICS } from '../machines/events.ts';

/**
 * What a registration's history row keeps for the audit's replay (app/audit.ts): the machine input
 * and the essay slots' ids the announcement carried (made here when the caller sent none).
 */
export interface RegistrationInput {
  input: BatchInput;
  essay_ids: string[];
}

/** The EssaysRegistered announcement of a registration, as registerBatch writes it and the audit replays it. */
export function registrationOutbox(registration: RegistrationInput, at: string, trace?: TraceCarrier) {
  const { input } = registration;
  return outboxEnvelope(
    TOPICS.essaysRegistered,
    essaysRegistered(input, registration.essay_ids, at),
    {
      batch_id: input.batch_id,
      owner_id: input.owner_id,
      class_id: input.class_id,
      correlation_id: input.correlation_id,
      org_id: input.org_id ?? null,
    },
    at,
    trace,
  );
}

/**
 * BatchEssaysRegistered, which a real essay lifecycle service needs to create the batch's essay
 * slots. The slots' essay ids are made here, as the real orchestrator makes them; Phase 1 keeps no
 * use for them (essays are known from provisioning), so they live only in this event.
 */
function essaysRegistered(input: BatchInput, essayIds: string[], at: string) {
  return {
    event: 'batch.essays.registered',
    entity_id: input.batch_id,
    expected_essay_count: input.expected_essay_count,
    essay_ids: essayIds,
    metadata: { entity_id: input.batch_id, entity_type: 'batch', parent_id: null, timestamp: at },
    course_code: input.course_code,
    user_id: input.owner_id,
    class_id: input.class_id,
    org_id: input.org_id ?? null,
    student_prompt_ref: input.student_prompt_ref ?? null,
  };
}

export interface RegisterBatchInput {
  course_code: CourseCode;
  class_id?: string | null | undefined;
  expected_essay_count: number;
  batch_id?: string | undefined;
  /** The registration's extras the real orchestrator keeps (BatchRegistrationRequestV1). */
  essay_ids?: string[] | null | undefined;
  org_id?: string | null | undefined;
  student_prompt_ref?: unknown;
  assignment_id?: string | null | undefined;
  cj_default_llm_model?: string | null | undefined;
  cj_default_temperature?: number | null | undefined;
}

export type RegisterOutcome =
  | {
      kind: 'registered';
      batch: { batch_id: string; status: string; state: string; version: number; class_type: string; correlation_id: string };
    }
  | { kind: 'class_not_found' }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> }
  | { kind: 'exists' };

/** Creates the batch actor: its first snapshot, projection, history and outbox rows in one statement. */
export async function registerBatch(
  db: Db,
  ownerId: string,
  input: RegisterBatchInput,
  correlationId: string,
  at: string,
  trace?: TraceCarrier,
): Promise<RegisterOutcome> {
  if (input.class_id !== undefined && input.class_id !== null) {
    const owned = await findOwnedClass(db, ownerId, input.class_id);
    if (!owned) return { kind: 'class_not_found' };
    if (!owned.courses.includes(input.course_code)) {
      return {
        kind: 'invalid',
        errors: [{ path: 'course_code', message: `the class's courses are ${owned.courses.join(', ')}` }],
      };
    }
  }
  const machineInput: BatchInput = {
    batch_id: input.batch_id ?? randomUUID(),
    owner_id: ownerId,
    class_id: input.class_id ?? null,
    course_code: input.course_code,
    expected_essay_count: input.expected_essay_count,
    correlation_id: correlationId,
    org_id: input.org_id ?? null,
    assignment_id: input.assignment_id ?? null,
    cj_default_llm_model: input.cj_default_llm_model ?? null,
    cj_default_temperature: input.cj_default_temperature ?? null,
    student_prompt_ref: input.student_prompt_ref ?? null,
  };
  const [snapshot] = initialStep(batchMachine, machineInput);
  const state = stateString(snapshot.value);
  const status = batchStatusOf(snapshot.value);
  const classType = snapshot.context.class_type;
  const registration: RegistrationInput = {
    input: machineInput,
    essay_ids: input.essay_ids ?? Array.from({ length: input.expected_essay_count }, () => randomUUID()),
  };
  const announced = registrationOutbox(registration, at, trace);
  const created = await writeFirstSnapshot(db, {
    batch: {
      batch_id: machineInput.batch_id,
      owner_id: ownerId,
      class_id: machineInput.class_id,
      class_type: classType,
      course_code: input.course_code,
      language: courseOf(input.course_code).language,
      expected_essay_count: input.expected_essay_count,
      correlation_id: correlationId,
      student_prompt_ref: machineInput.student_prompt_ref ?? null,
      status,
      state,
      created_at: at,
      updated_at: at,
    },
    machineId: BATCH_MACHINE_ID,
    machineVersion: BATCH_MACHINE_VERSION,
    snapshot: persistedBatchSnapshot(snapshot),
    history: {
      event_type: 'BATCH_REGISTERED',
      event_id: null,
      actor: ownerId,
      from_state: null,
      to_state: state,
      correlation_id: correlationId,
      outcome: 'applied',
      reason: null,
      at,
      machine_input: registration,
    },
    outbox: [announced],
  });
  if (!created) return { kind: 'exists' };
  return {
    kind: 'registered',
    batch: { batch_id: machineInput.batch_id, status, state, version: 1, class_type: classType, correlation_id: correlationId },
  };
}
