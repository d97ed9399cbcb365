import { type SQL, sql } from 'drizzle-orm';
import { SYSTEM_TIMEOUT } from '../machines/domain.ts';
import { type Db, rows } from './client.ts';
import {
  ASSOCIATION_COLUMNS,
  ASSOCIATION_SNAPSHOT_COLUMNS,
  type TransitionWrite,
  associationRowsInsert,
  associationRowsUpdate,
  associationSnapshotRows,
  associationSnapshotsUpsert,
  batchActorId,
} from './transitions.ts';

/**
 * Many transitions of different batches in ONE statement: the burst's writes as sets. Each batch's
 * snapshot update is still guarded by its own row version, and every other row of that batch
 * (projection, history, processed event, outbox, deadline, students, associations) joins the
 * snapshots that were actually updated, so a batch whose version moved writes nothing at all while
 * the others commit. N pipelined statements cost PostgreSQL N parses, plans and executions of a
 * dozen CTEs; this costs one, whatever N is. Answers the ids of the batches written.
 */
export async function writeTransitions(db: Db, writes: TransitionWrite[]): Promise<Set<string>> {
  if (writes.length === 0) return new Set();
  const written = await rows<{ batch_id: string }>(db, transitionsStatement(writes));
  return new Set(written.map((r) => r.batch_id));
}

/** The statement of writeTransitions, apart so that bench/explain.ts can show its plan. */
export function transitionsStatement(writes: TransitionWrite[]): SQL {
  const ids = new Set(writes.map((w) => w.batchId));
  if (ids.size !== writes.length)
    throw new Error("writeTransitions: one write per batch; a second write of a batch would join the first one's update");
  const set = (value: unknown[]) => sql`${JSON.stringify(value)}::jsonb`;
  const heads = writes.map(
    ({ batchId, expectedVersion, machineVersion, snapshot, status, state, dueAt, promptPayload, studentPromptRef }) => {
      return {
        batchId,
        actorId: batchActorId(batchId),
        expectedVersion,
        machineVersion,
        snapshot,
        status,
        state,
        dueAt,
        promptPayload,
        studentPromptRef,
      };
    },
  );
  const history = writes.map((w) => ({ batch_id: w.batchId, ...w.history, detail: w.history.detail ?? null }));
  const processed = writes.flatMap((w) =>
    w.processed
      ? [{ batch_id: w.batchId, event_id: w.processed.eventId, response: w.processed.response, fingerprint: w.processed.fingerprint }]
      : [],
  );
  const outbox = writes.flatMap((w) => w.outbox.map((o) => ({ batch_id: w.batchId, ...o })));
  const deadlineSet = writes.flatMap((w) =>
    w.deadline.kind === 'set' ? [{ batch_id: w.batchId, version: w.deadline.version, due_at: w.deadline.due_at }] : [],
  );
  const deadlineClear = writes.flatMap((w) => (w.deadline.kind === 'clear' ? [{ batch_id: w.batchId }] : []));
  const students = writes.flatMap((w) => w.newStudents.map((s) => ({ batch_id: w.batchId, ...s })));
  const snapshots = writes.flatMap((w) => associationSnapshotRows(w.batchId, w.associationMachineVersion, w.associationSnapshots));

  return sql`WITH w AS (
        SELECT "batchId" AS batch_id, w.* FROM jsonb_to_recordset(${set(heads)}) AS w("batchId" uuid, "actorId" text, "expectedVersion" int,
          "machineVersion" int, snapshot jsonb, status text, state text, "dueAt" timestamptz, "promptPayload" jsonb, "studentPromptRef" jsonb)),
      snap AS (
        UPDATE actor_snapshots s SET snapshot = w.snapshot, version = s.version + 1, machine_version = w."machineVersion", updated_at = now()
        FROM w WHERE s.actor_id = w."actorId" AND s.version = w."expectedVersion"
          -- The key list lets the planner probe the primary key: it expects 100 rows from any jsonb_to_recordset and would
          -- otherwise scan the whole table to hash-join them.
          AND s.actor_id = ANY(ARRAY(SELECT "actorId" FROM w))
        RETURNING w.batch_id, s.version),
      proj AS (
        UPDATE batches b SET status = w.status, state = w.state, version = snap.version, due_at = w."dueAt",
          prompt_payload = coalesce(w."promptPayload", 'null'), student_prompt_ref = coalesce(w."studentPromptRef", 'null'), updated_at = now()
        FROM snap JOIN w USING (batch_id) WHERE b.batch_id = snap.batch_id),
      hist AS (
        INSERT INTO history (batch_id, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail)
        SELECT h.batch_id, h.at, h.event_type, h.event_id, h.actor, h.from_state, h.to_state, h.correlation_id, h.outcome, h.reason, snap.version, h.detail
        FROM jsonb_to_recordset(${set(history)}) AS h(batch_id uuid, at timestamptz, event_type text, event_id text, actor text, from_state text,
          to_state text, correlation_id uuid, outcome text, reason text, detail jsonb)
        JOIN snap USING (batch_id)),
      proc AS (
        INSERT INTO processed_events (event_id, batch_id, response, fingerprint)
        SELECT p.event_id, p.batch_id, p.response, p.fingerprint
        FROM jsonb_to_recordset(${set(processed)}) AS p(batch_id uuid, event_id text, response jsonb, fingerprint text) JOIN snap USING (batch_id)),
      outb AS (
        INSERT INTO outbox (event_id, topic, batch_id, correlation_id, envelope)
        SELECT o.event_id, o.topic, o.batch_id, o.correlation_id, o.envelope
        FROM jsonb_to_recordset(${set(outbox)}) AS o(batch_id uuid, event_id uuid, topic text, correlation_id uuid, envelope jsonb) JOIN snap USING (batch_id)),
      dl_set AS (
        INSERT INTO deadlines (batch_id, version, due_at)
        SELECT d.batch_id, d.version, d.due_at FROM jsonb_to_recordset(${set(deadlineSet)}) AS d(batch_id uuid, version int, due_at timestamptz) JOIN snap USING (batch_id)
        ON CONFLICT (batch_id) DO UPDATE SET version = excluded.version, due_at = excluded.due_at, claimed_until = NULL),
      dl_clear AS (
        DELETE FROM deadlines d USING jsonb_to_recordset(${set(deadlineClear)}) AS c(batch_id uuid), snap
        WHERE d.batch_id = c.batch_id AND snap.batch_id = c.batch_id),
      stu AS (
        INSERT INTO students (id, class_id, first_name, last_name, email, is_unknown, created_by_user_id)
        SELECT s.id, s.class_id, s.first_name, s.last_name, s.email, s.is_unknown, ${SYSTEM_TIMEOUT}
        FROM jsonb_to_recordset(${set(students)}) AS s(batch_id uuid, id uuid, class_id uuid, first_name text, last_name text, email text, is_unknown boolean)
        JOIN snap USING (batch_id)),
      stu_member AS (
        INSERT INTO class_students (class_id, student_id)
        SELECT s.class_id, s.id FROM jsonb_to_recordset(${set(students)}) AS s(batch_id uuid, id uuid, class_id uuid) JOIN snap USING (batch_id)),
      assoc_new AS (${associationRowsInsert(sql`jsonb_to_recordset(${set(writes.flatMap((w) => w.newAssociations))}) AS a(${ASSOCIATION_COLUMNS}) JOIN snap USING (batch_id)`)}),
      assoc_upd AS (${associationRowsUpdate(sql`jsonb_to_recordset(${set(writes.flatMap((w) => w.changedAssociations))}) AS a(${ASSOCIATION_COLUMNS}) JOIN snap USING (batch_id)`)}),
      assoc_snap AS (${associationSnapshotsUpsert(sql`jsonb_to_recordset(${set(snapshots)}) AS r(${ASSOCIATION_SNAPSHOT_COLUMNS}) JOIN snap USING (batch_id)`)})
      SELECT batch_id FROM snap`;
}
