import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { initialTransition } from 'xstate';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, type BatchInput, batchMachine } from '../machines/batch.ts';
import { batchStatusOf, stateString } from '../machines/describe.ts';
import { type CourseCode, courseOf } from '../machines/domain.ts';
import { type Db, rows } from '../db/client.ts';
import { batchActorId } from '../db/transitions.ts';
import { findOwnedClass } from './classes.ts';
import { outboxEnvelope } from './envelope.ts';
import type { TraceCarrier } from './tracing.ts';
import { TOPICS } from '../machines/events.ts';

/**
 * BatchEssaysRegistered, which a real essay lifecycle service needs to create the batch's essay
 * slots. The slots' essay ids are made here, as the real orchestrator makes them; Phase 1 keeps no
 * use for them (essays are known from provisioning), so they live only in this event.
 */
function essaysRegistered(input: BatchInput, at: string) {
  return {
    event: 'batch.essays.registered',
    entity_id: input.batch_id,
    expected_essay_count: input.expected_essay_count,
    essay_ids: Array.from({ length: input.expected_essay_count }, () => randomUUID()),
    metadata: { entity_id: input.batch_id, entity_type: 'batch', parent_id: null, timestamp: at },
    course_code: input.course_code,
    user_id: input.owner_id,
    class_id: input.class_id,
    org_id: null,
    student_prompt_ref: null,
  };
}

export interface RegisterBatchInput {
  course_code: CourseCode;
  class_id?: string | undefined;
  expected_essay_count: number;
  batch_id?: string | undefined;
}

export type RegisterOutcome =
  | { kind: 'registered'; batch: { batch_id: string; status: string; state: string; version: number; class_type: string; correlation_id: string } }
  | { kind: 'class_not_found' }
  | { kind: 'invalid'; errors: Array<{ path: string; message: string }> }
  | { kind: 'exists' };

/** Creates the batch actor: its first snapshot, projection and history row in one statement. */
export async function registerBatch(
  db: Db,
  ownerId: string,
  input: RegisterBatchInput,
  correlationId: string,
  at: string,
  trace?: TraceCarrier,
): Promise<RegisterOutcome> {
  if (input.class_id !== undefined) {
    const owned = await findOwnedClass(db, ownerId, input.class_id);
    if (!owned) return { kind: 'class_not_found' };
    if (owned.course_code !== input.course_code) {
      return {
        kind: 'invalid',
        errors: [{ path: 'course_code', message: `the class's course is ${owned.course_code}` }],
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
  };
  const [snapshot] = initialTransition(batchMachine, machineInput);
  const state = stateString(snapshot.value);
  const status = batchStatusOf(snapshot.value);
  const classType = snapshot.context.class_type;
  const announced = outboxEnvelope(
    TOPICS.essaysRegistered,
    essaysRegistered(machineInput, at),
    { batch_id: machineInput.batch_id, owner_id: ownerId, class_id: machineInput.class_id, correlation_id: correlationId },
    at,
    trace,
  );
  const created = await rows<{ batch_id: string }>(
    db,
    sql`WITH b AS (
        INSERT INTO batches (batch_id, owner_id, class_id, class_type, course_code, language, expected_essay_count,
          correlation_id, status, state, version, created_at, updated_at)
        VALUES (${machineInput.batch_id}, ${ownerId}, ${machineInput.class_id}, ${classType}, ${input.course_code},
          ${courseOf(input.course_code).language}, ${input.expected_essay_count}, ${correlationId}, ${status}, ${state}, 1,
          ${at}::timestamptz, ${at}::timestamptz)
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING batch_id),
      s AS (
        INSERT INTO actor_snapshots (actor_id, machine_id, machine_version, version, snapshot)
        SELECT ${batchActorId(machineInput.batch_id)}, ${BATCH_MACHINE_ID}, ${BATCH_MACHINE_VERSION}, 1,
          ${JSON.stringify(batchMachine.getPersistedSnapshot(snapshot))}::jsonb FROM b),
      h AS (
        INSERT INTO history (batch_id, at, event_type, actor, from_state, to_state, correlation_id, outcome, version)
        SELECT batch_id, ${at}::timestamptz, 'BATCH_REGISTERED', ${ownerId}, NULL, ${state}, ${correlationId}, 'applied', 1 FROM b),
      o AS (
        INSERT INTO outbox (event_id, topic, batch_id, correlation_id, envelope)
        SELECT ${announced.event_id}::uuid, ${announced.topic}, batch_id, ${correlationId}::uuid, ${JSON.stringify(announced.envelope)}::jsonb FROM b)
      SELECT batch_id FROM b`,
  );
  if (created.length === 0) return { kind: 'exists' };
  return {
    kind: 'registered',
    batch: { batch_id: machineInput.batch_id, status, state, version: 1, class_type: classType, correlation_id: correlationId },
  };
}
