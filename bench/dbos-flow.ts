import { randomUUID } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import postgres from 'postgres';
import { outboxEnvelope } from '../app/envelope.ts';
import type { AssociationRecord } from '../machines/association.ts';
import { associationsConfirmedNotice, confirmationRequired, timeoutProcessedNotice } from '../machines/batch-notifications.ts';
import { SYSTEM_TIMEOUT, TIMEOUT_CONFIDENCE_THRESHOLD, confidenceLevel } from '../machines/domain.ts';
import { type StudentInfo, TOPICS } from '../machines/events.ts';
import {
  type BatchFacts,
  associationUpdated,
  associationsConfirmed,
  studentMatchingCommand,
  timeoutProcessed,
} from '../machines/outbound.ts';
import { PostgresDataSource, dbosClient } from './dbos-datasource.ts';
import type { ClassFixture, Decision } from './events.ts';

/**
 * The service's phase-1 flow written as a DBOS Transact workflow, one per batch (workflow id = batch
 * id), for the bench's DBOS points (bench/dbos-points.ts). Inbound events and the teacher's decisions
 * arrive by `DBOS.send` with the event id as the idempotency key; the workflow `recv`s them per
 * topic, the teacher's with the deadline as its own (`null` = the deadline passed). Each event is
 * one DBOS transaction (bench/dbos-datasource.ts) on the flow's own tables: its projection row
 * (`dbos_batches`), association rows (`dbos_associations`) and outbox rows (`dbos_outbox`), the
 * outbox envelopes built by the service's own builders (machines/outbound.ts, app/envelope.ts), so the
 * bodies on the wire are the same.
 *
 * A client learns that its event was applied from an in-process waiter the workflow resolves after
 * the event's transaction committed (`waitApplied`). That is DBOS's cheapest signal: `setEvent` with
 * `getEvent` would add a system-database write per event. So the ratios against DBOS are, if anything,
 * in DBOS's favour.
 */

export const DBOS_TABLES = `
  CREATE TABLE IF NOT EXISTS dbos_batches (
    batch_id text PRIMARY KEY, state text NOT NULL, facts jsonb NOT NULL, essays jsonb,
    due_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS dbos_associations (
    batch_id text NOT NULL, essay_id text NOT NULL, student_id text, validation_status text NOT NULL,
    record jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (batch_id, essay_id));
  CREATE TABLE IF NOT EXISTS dbos_outbox (
    id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, topic text NOT NULL, partition_key text NOT NULL,
    envelope jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
`;

type Envelope = { event_id: string; correlation_id?: string | null; data: Record<string, unknown> };
type TeacherMessage = { event_id: string; teacher_id: string; decisions: Decision[] };

export interface FlowInput {
  batchId: string;
  cls: ClassFixture;
  students: Record<string, StudentInfo>;
  unknownStudentId: string;
  validationTimeoutMs: number;
  /** A burst (DBOS-T): content and suggestions applied at the start, the deadline at this instant. */
  burst?: { content: Envelope; suggestions: Envelope; dueAtMs: number };
}

export const TOPIC = { content: 'content', suggestions: 'suggestions', teacher: 'teacher', ready: 'ready' } as const;

/** Who waits for which event id (or `registered:<batch>`, `parked:<batch>`, `timeout:<batch>`). */
const waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
const signalled = new Set<string>();
/** A workflow that failed fails every wait, so a broken flow stops the bench instead of hanging it. */
let failure: Error | null = null;

function signal(key: string): void {
  const waiter = waiters.get(key);
  if (waiter) {
    waiters.delete(key);
    waiter.resolve();
  } else signalled.add(key);
}

function fail(error: Error): void {
  failure ??= error;
  for (const waiter of waiters.values()) waiter.reject(error);
  waiters.clear();
}

/** Resolves once the workflow signalled `key` (before or after this call). */
export function waitApplied(key: string): Promise<void> {
  if (signalled.delete(key)) return Promise.resolve();
  if (failure) return Promise.reject(failure);
  return new Promise((resolve, reject) => waiters.set(key, { resolve, reject }));
}

const DAY_S = 86_400;

type Row = { event_id: string; topic: string; partition_key: string; envelope: unknown };
function outboxRows(facts: BatchFacts, emitted: Array<{ type: string; data: unknown }>, at: string): Row[] {
  return emitted.map((e) => {
    const row = outboxEnvelope(e.type, e.data, facts, at, undefined);
    return { event_id: row.event_id, topic: row.topic, partition_key: facts.batch_id, envelope: row.envelope };
  });
}

async function insertOutbox(tx: postgres.TransactionSql, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  await tx`INSERT INTO dbos_outbox (event_id, topic, partition_key, envelope)
    SELECT event_id, topic, partition_key, envelope FROM jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
      AS x(event_id uuid, topic text, partition_key text, envelope jsonb)`;
}

async function writeAssociations(tx: postgres.TransactionSql, records: AssociationRecord[], insert: boolean): Promise<void> {
  const rows = JSON.stringify(
    records.map((r) => ({
      batch_id: r.batch_id,
      essay_id: r.essay_id,
      student_id: r.student_id,
      validation_status: r.validation_status,
      record: r,
    })),
  );
  if (insert) {
    await tx`INSERT INTO dbos_associations (batch_id, essay_id, student_id, validation_status, record)
      SELECT batch_id, essay_id, student_id, validation_status, record FROM jsonb_to_recordset(${rows}::text::jsonb)
        AS x(batch_id text, essay_id text, student_id text, validation_status text, record jsonb)`;
    return;
  }
  const updated = await tx`UPDATE dbos_associations a SET student_id = x.student_id, validation_status = x.validation_status,
      record = x.record, updated_at = now()
    FROM jsonb_to_recordset(${rows}::text::jsonb) AS x(batch_id text, essay_id text, student_id text, validation_status text, record jsonb)
    WHERE a.batch_id = x.batch_id AND a.essay_id = x.essay_id`;
  if (updated.count !== records.length) throw new Error(`dbos flow: ${updated.count} of ${records.length} associations updated`);
}

async function setState(tx: postgres.TransactionSql, batchId: string, state: string, extra: { essays?: unknown; dueAt?: string } = {}) {
  const updated = await tx`UPDATE dbos_batches SET state = ${state}, updated_at = now(),
      essays = coalesce(${extra.essays === undefined ? null : JSON.stringify(extra.essays)}::text::jsonb, essays),
      due_at = coalesce(${extra.dueAt ?? null}::timestamptz, due_at)
    WHERE batch_id = ${batchId}`;
  if (updated.count !== 1) throw new Error(`dbos flow: batch ${batchId} not found`);
}

/** The teacher's decision on one association, as the association machine takes CONFIRM. */
function decide(a: AssociationRecord, d: Decision, teacherId: string, at: string): AssociationRecord {
  const student = d.student_id ?? a.suggested_student_id;
  if (!d.confirmed || student === null)
    return { ...a, validation_status: 'rejected', validation_method: 'human', validated_by: teacherId, validated_at: at };
  return {
    ...a,
    student_id: student,
    validation_status: 'confirmed',
    validation_method: 'human',
    validated_by: teacherId,
    validated_at: at,
  };
}

/** The deadline's decision on a pending association: a confident suggestion kept, else the class's UNKNOWN student. */
function timeOut(a: AssociationRecord, unknownStudentId: string, at: string): AssociationRecord {
  const keep = a.suggested_student_id !== null && a.confidence_score !== null && a.confidence_score >= TIMEOUT_CONFIDENCE_THRESHOLD;
  return {
    ...a,
    student_id: keep ? a.suggested_student_id : unknownStudentId,
    validation_status: keep ? 'timeout_confirmed' : 'no_match',
    validation_method: 'timeout',
    validated_by: SYSTEM_TIMEOUT,
    validated_at: at,
  };
}

export function createDbosFlow(ds: PostgresDataSource) {
  const tx = <T>(name: string, fn: (client: postgres.TransactionSql, at: string) => Promise<T>) =>
    ds.runTransaction(() => fn(dbosClient(), new Date().toISOString()), name);

  async function batchFlow(input: FlowInput): Promise<string> {
    try {
      return await flowOf(input);
    } catch (error) {
      fail(new Error(`DBOS flow of batch ${input.batchId} failed: ${error instanceof Error ? error.message : String(error)}`));
      throw error;
    }
  }

  async function flowOf(input: FlowInput): Promise<string> {
    const { batchId, cls } = input;
    const facts: BatchFacts = {
      batch_id: batchId,
      owner_id: cls.ownerId,
      class_id: cls.classId,
      course_code: cls.courseCode,
      correlation_id: batchId,
      language: cls.courseCode.startsWith('ENG') ? 'en' : 'sv',
    };
    await tx(
      'registered',
      (c) => c`INSERT INTO dbos_batches (batch_id, state, facts) VALUES (${batchId}, 'registered', ${JSON.stringify(facts)}::text::jsonb)`,
    );
    signal(`registered:${batchId}`);

    const content = input.burst?.content ?? (await DBOS.recv<Envelope>(TOPIC.content, DAY_S));
    if (!content) throw new Error(`dbos flow ${batchId}: no content within a day`);
    await tx('contentProvisioned', async (c, at) => {
      const essays = content.data.essays_for_processing as Array<{ essay_id: string; text_storage_id: string }>;
      await setState(c, batchId, 'awaiting_suggestions', { essays });
      await insertOutbox(c, outboxRows(facts, [studentMatchingCommand(facts, essays, at)], at));
    });
    signal(content.event_id);

    const suggested = input.burst?.suggestions ?? (await DBOS.recv<Envelope>(TOPIC.suggestions, DAY_S));
    if (!suggested) throw new Error(`dbos flow ${batchId}: no suggestions within a day`);
    const dueAtMs = input.burst?.dueAtMs ?? (await DBOS.now()) + input.validationTimeoutMs;
    let associations: Record<string, AssociationRecord> = await tx('authorMatchesSuggested', async (c, at) => {
      type Match = {
        essay_id: string;
        text_storage_id: string;
        filename: string | null;
        suggestions: Array<{ student_id: string; confidence_score: number; match_reasons: string[] }>;
      };
      const records = (suggested.data.match_results as Match[]).map((m): AssociationRecord => {
        const best = m.suggestions[0];
        return {
          essay_id: m.essay_id,
          batch_id: batchId,
          class_id: cls.classId,
          text_storage_id: m.text_storage_id,
          created_by_user_id: cls.ownerId,
          created_at: at,
          suggested_student_id: best?.student_id ?? null,
          student_id: null,
          confidence_score: best?.confidence_score ?? null,
          confidence_level: confidenceLevel(best?.confidence_score ?? null),
          match_reasons: best?.match_reasons ?? null,
          validation_method: null,
          validated_by: null,
          validated_at: null,
          validation_status: 'pending_validation',
          filename: m.filename,
          suggestions: m.suggestions as AssociationRecord['suggestions'],
        };
      });
      const dueAt = new Date(dueAtMs).toISOString();
      await setState(c, batchId, 'awaiting_teacher', { dueAt });
      await writeAssociations(c, records, true);
      await insertOutbox(c, outboxRows(facts, [confirmationRequired(facts, records.length, dueAt, at)], at));
      return Object.fromEntries(records.map((r) => [r.essay_id, r]));
    });
    signal(suggested.event_id);

    const pending = () => Object.values(associations).filter((a) => a.validation_status === 'pending_validation').length;
    while (pending() > 0) {
      signal(`parked:${batchId}`);
      const message = await DBOS.recv<TeacherMessage>(TOPIC.teacher, { deadlineEpochMS: dueAtMs });
      if (message === null) {
        associations = await tx('validationTimeout', async (c, at) => {
          const decided = Object.values(associations)
            .filter((a) => a.validation_status === 'pending_validation')
            .map((a) => timeOut(a, input.unknownStudentId, at));
          const all = { ...associations, ...Object.fromEntries(decided.map((a) => [a.essay_id, a])) };
          const hours = input.validationTimeoutMs / 3_600_000;
          await writeAssociations(c, decided, false);
          await setState(c, batchId, 'validated');
          await insertOutbox(
            c,
            outboxRows(
              facts,
              [
                ...decided.map((a) => associationUpdated(facts, a, input.students, at)),
                timeoutProcessed(facts, decided, input.students, hours, at),
                timeoutProcessedNotice(facts, decided, input.students, hours, at),
                associationsConfirmed(facts, all, true, at),
                associationsConfirmedNotice(facts, all, true, at),
              ],
              at,
            ),
          );
          return all;
        });
        signal(`timeout:${batchId}`);
        break;
      }
      associations = await tx('teacherDecisions', async (c, at) => {
        const decided = message.decisions.map((d) => {
          const a = associations[d.essay_id];
          if (!a || a.validation_status !== 'pending_validation')
            throw new Error(`dbos flow ${batchId}: essay ${d.essay_id} is not pending`);
          return decide(a, d, message.teacher_id, at);
        });
        const all = { ...associations, ...Object.fromEntries(decided.map((a) => [a.essay_id, a])) };
        const done = Object.values(all).every((a) => a.validation_status !== 'pending_validation');
        await writeAssociations(c, decided, false);
        if (done) await setState(c, batchId, 'validated');
        else await c`UPDATE dbos_batches SET updated_at = now() WHERE batch_id = ${batchId}`;
        const emitted = [
          ...decided.map((a) => associationUpdated(facts, a, input.students, at)),
          ...(done ? [associationsConfirmed(facts, all, false, at), associationsConfirmedNotice(facts, all, false, at)] : []),
        ];
        await insertOutbox(c, outboxRows(facts, emitted, at));
        return all;
      });
      signal(message.event_id);
    }
    if (input.burst) return 'timed out';

    const ready = await DBOS.recv<Envelope>(TOPIC.ready, DAY_S);
    if (!ready) throw new Error(`dbos flow ${batchId}: essays not ready within a day`);
    await tx('essaysReady', (c) => setState(c, batchId, 'ready_for_pipeline'));
    signal(ready.event_id);
    return 'ready';
  }

  return DBOS.registerWorkflow(batchFlow, { name: 'batchFlow' });
}

/** What a DBOS transport sends: the topic of each inbound event type the flow takes. */
export const INBOUND_TOPIC: Record<string, string> = {
  [TOPICS.contentProvisioned]: TOPIC.content,
  [TOPICS.authorMatchesSuggested]: TOPIC.suggestions,
  [TOPICS.essaysReady]: TOPIC.ready,
};

/** A teacher message for the flow; its event id is the idempotency key of its send. */
export function teacherMessage(teacherId: string, decisions: Decision[]): TeacherMessage {
  return { event_id: `cmd-${randomUUID()}`, teacher_id: teacherId, decisions };
}
