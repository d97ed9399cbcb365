import { type SQL, sql } from 'drizzle-orm';
import type { AssociationRecord } from '../machines/association.ts';
import { SYSTEM_TIMEOUT } from '../machines/domain.ts';
import { type Db, rows } from './client.ts';
import type { RosterEntry } from './students.ts';
import type { batches, history } from './schema.ts';

/**
 * The write side of one transition. Everything a transition changes goes into ONE statement of
 * data-modifying CTEs guarded by the snapshot's row version, so it commits atomically and costs one
 * round trip. A lost race changes nothing and reports `false`.
 */

/**
 * One audit entry as a transition writes it: the history table's row without what the database
 * assigns (seq), what the write knows itself (batch, row version), and with the outcomes named.
 */
export type HistoryRow = Pick<
  typeof history.$inferSelect,
  'event_type' | 'event_id' | 'actor' | 'from_state' | 'to_state' | 'correlation_id' | 'reason' | 'at'
> & {
  /** `notified`: a reminder the sweep sent; the state did not change. */
  outcome: 'applied' | 'refused' | 'late' | 'notified';
  detail?: unknown;
};

export interface OutboxRow {
  event_id: string;
  topic: string;
  correlation_id: string;
  envelope: unknown;
}

export interface StudentRow {
  id: string;
  class_id: string;
  first_name: string;
  last_name: string;
  email: string;
  is_unknown: boolean;
}

/** What a transition does to the batch's deadline; `previous` names the timer that became stale. */
export type DeadlineWrite =
  | { kind: 'keep' }
  | { kind: 'set'; version: number; due_at: string; previous: number | null }
  | { kind: 'clear'; previous: number };

export interface TransitionWrite {
  batchId: string;
  expectedVersion: number;
  machineVersion: number;
  snapshot: unknown;
  status: string;
  state: string;
  dueAt: string | null;
  promptPayload: unknown;
  studentPromptRef: unknown;
  processed: { eventId: string; response: unknown; fingerprint: string | null } | null;
  history: HistoryRow;
  outbox: OutboxRow[];
  deadline: DeadlineWrite;
  /** Projection rows (essay_student_associations) to insert and to update. */
  newAssociations: AssociationRecord[];
  changedAssociations: AssociationRecord[];
  /** Association snapshots to store: the records this transition created or changed. */
  associationSnapshots: AssociationRecord[];
  associationMachineVersion: number;
  newStudents: StudentRow[];
}

export interface LoadedActor {
  snapshot: unknown;
  version: number;
  machine_version: number;
  owner_id: string;
  prior_response: unknown;
  /** The fingerprint stored with the earlier answer to this event id (null when none was kept). */
  prior_fingerprint: string | null;
  /** The association snapshots asked for (null when none were). */
  associations: AssociationRecord[] | null;
  /**
   * With essays asked for: the class's students among `students` and the selected essays'
   * suggested students, so a decision needs no roster round trip (null otherwise).
   */
  roster?: RosterEntry[] | null;
}

/** Which association snapshots a load reads with the batch: these essays', or all the batch's. */
export type AssociationSelection = { essays: string[]; students?: string[] } | 'all';

export function associationsOf(batchId: SQL, selection: AssociationSelection | undefined): SQL {
  if (selection === undefined) return sql`NULL`;
  // Essay ids are compared as text: a malformed one in a teacher's request matches nothing instead of failing a cast.
  const which =
    selection === 'all'
      ? sql``
      : sql`AND a.essay_id::text IN (SELECT jsonb_array_elements_text(${JSON.stringify(selection.essays)}::jsonb))`;
  return sql`(SELECT coalesce(jsonb_agg(a.snapshot), '[]'::jsonb) FROM association_snapshots a WHERE a.batch_id = ${batchId} ${which})`;
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

export const batchActorId = (batchId: string) => `batch:${batchId}`;

function rosterOf(selection: AssociationSelection | undefined): SQL {
  if (selection === undefined || selection === 'all') return sql`NULL`;
  const essays = sql`(SELECT jsonb_array_elements_text(${JSON.stringify(selection.essays)}::jsonb))`;
  return sql`(SELECT coalesce(jsonb_agg(jsonb_build_object('id', st.id, 'first_name', st.first_name, 'last_name', st.last_name, 'email', st.email)), '[]'::jsonb)
      FROM students st JOIN class_students m ON m.student_id = st.id AND m.class_id = b.class_id WHERE st.id::text IN (
        SELECT jsonb_array_elements_text(${JSON.stringify(selection.students ?? [])}::jsonb)
        UNION SELECT a.snapshot->>'suggested_student_id' FROM association_snapshots a
          WHERE a.batch_id = b.batch_id AND a.essay_id::text IN ${essays}))`;
}

/** The snapshot, its owner, any earlier answer to this event id and the selected associations (with their roster), in one round trip. */
export async function loadBatchActor(
  db: Db,
  batchId: string,
  eventId: string | null,
  forUpdate: boolean,
  associations?: AssociationSelection,
): Promise<LoadedActor | null> {
  const [row] = await rows<LoadedActor>(
    db,
    sql`SELECT s.snapshot, s.version, s.machine_version, b.owner_id,
          ${eventId === null ? sql`NULL` : sql`(SELECT p.response FROM processed_events p WHERE p.event_id = ${eventId})`} AS prior_response,
          ${eventId === null ? sql`NULL` : sql`(SELECT p.fingerprint FROM processed_events p WHERE p.event_id = ${eventId})`} AS prior_fingerprint,
          ${associationsOf(sql`b.batch_id`, associations)} AS associations,
          ${rosterOf(associations)} AS roster
        FROM actor_snapshots s JOIN batches b ON b.batch_id = ${batchId}
        WHERE s.actor_id = ${batchActorId(batchId)}
        ${forUpdate ? sql`FOR UPDATE OF s` : sql``}`,
  );
  return row ?? null;
}

/** Every association snapshot of a batch, for an event that turned out to need them all. */
export async function loadAllAssociations(db: Db, batchId: string): Promise<AssociationRecord[]> {
  const [row] = await rows<{ associations: AssociationRecord[] }>(
    db,
    sql`SELECT ${associationsOf(sql`${batchId}::uuid`, 'all')} AS associations`,
  );
  return row?.associations ?? [];
}

export async function priorResponse(db: Db, eventId: string): Promise<{ response: unknown; fingerprint: string | null }> {
  const [row] = await rows<{ response: unknown; fingerprint: string | null }>(
    db,
    sql`SELECT response, fingerprint FROM processed_events WHERE event_id = ${eventId}`,
  );
  return { response: row?.response ?? null, fingerprint: row?.fingerprint ?? null };
}

export const ASSOCIATION_COLUMNS = sql`essay_id uuid, student_id uuid, batch_id uuid, class_id uuid, created_by_user_id text,
  created_at timestamptz, confidence_score double precision, match_reasons jsonb, validation_status text,
  validated_by text, validated_at timestamptz, validation_method text, suggested_student_id uuid, text_storage_id text, filename text, suggestions jsonb`;

function historyInsert(batchId: string, h: HistoryRow, version: SQL): SQL {
  return sql`INSERT INTO history (batch_id, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail)
    SELECT ${batchId}, ${h.at}::timestamptz, ${h.event_type}, ${h.event_id}, ${h.actor}, ${h.from_state}, ${h.to_state},
      ${h.correlation_id}::uuid, ${h.outcome}, ${h.reason}, ${version}, ${h.detail === undefined ? null : JSON.stringify(h.detail)}::jsonb`;
}

function outboxInsert(batchId: string, outbox: OutboxRow[], source: SQL): SQL {
  return sql`INSERT INTO outbox (event_id, topic, batch_id, correlation_id, envelope)
      SELECT o.event_id, o.topic, ${batchId}, o.correlation_id, o.envelope
      FROM ${source}, jsonb_to_recordset(${json(outbox)}) AS o(event_id uuid, topic text, correlation_id uuid, envelope jsonb)`;
}

/** Inserts the projection rows of new associations, read as `a` from `source`. */
export function associationRowsInsert(source: SQL): SQL {
  return sql`INSERT INTO essay_student_associations (essay_id, student_id, batch_id, class_id, created_by_user_id, created_at,
        confidence_score, match_reasons, validation_status, validated_by, validated_at, validation_method,
        suggested_student_id, text_storage_id, filename, suggestions)
      SELECT a.essay_id, a.student_id, a.batch_id, a.class_id, a.created_by_user_id, a.created_at, a.confidence_score,
        a.match_reasons, a.validation_status, a.validated_by, a.validated_at, a.validation_method,
        a.suggested_student_id, a.text_storage_id, a.filename, a.suggestions
      FROM ${source}`;
}

/** Updates the decided fields of associations' projection rows, read as `a` from `source`, of their own batch. */
export function associationRowsUpdate(source: SQL, batchId?: string): SQL {
  return sql`UPDATE essay_student_associations e SET student_id = a.student_id, validation_status = a.validation_status,
        validated_by = a.validated_by, validated_at = a.validated_at, validation_method = a.validation_method
      FROM ${source}
      WHERE e.essay_id = a.essay_id AND e.batch_id = ${batchId === undefined ? sql`a.batch_id` : sql`${batchId}`}`;
}

/** Rows for associationSnapshotsUpsert: each record with its batch and its machine version. */
export function associationSnapshotRows(batchId: string, machineVersion: number, records: AssociationRecord[]) {
  return records.map((snapshot) => ({ batch_id: batchId, machine_version: machineVersion, snapshot }));
}

export const ASSOCIATION_SNAPSHOT_COLUMNS = sql`batch_id uuid, machine_version int, snapshot jsonb`;

/**
 * Stores association snapshots, read as `r` (ASSOCIATION_SNAPSHOT_COLUMNS) from `source`. An essay
 * already associated in another batch keeps its row here; the projection's unique essay_id refuses
 * the whole statement as a conflict.
 */
export function associationSnapshotsUpsert(source: SQL): SQL {
  return sql`INSERT INTO association_snapshots (essay_id, batch_id, machine_version, snapshot)
      SELECT (r.snapshot->>'essay_id')::uuid, r.batch_id, r.machine_version, r.snapshot
      FROM ${source}
      ON CONFLICT (essay_id) DO UPDATE SET snapshot = excluded.snapshot, machine_version = excluded.machine_version, updated_at = now()
      WHERE association_snapshots.batch_id = excluded.batch_id`;
}

/** A new batch actor: its projection row and its first snapshot, history row and outbox rows. */
export interface FirstSnapshotWrite {
  batch: Omit<typeof batches.$inferInsert, 'version' | 'due_at' | 'prompt_payload'>;
  machineId: string;
  machineVersion: number;
  snapshot: unknown;
  history: HistoryRow;
  outbox: OutboxRow[];
}

/**
 * Creates a batch actor at row version 1 in one statement. Reports `false`, writing nothing, when
 * the batch id is taken.
 */
export async function writeFirstSnapshot(db: Db, w: FirstSnapshotWrite): Promise<boolean> {
  const b = w.batch;
  const ctes: SQL[] = [
    sql`b AS (
        INSERT INTO batches (batch_id, owner_id, class_id, class_type, course_code, language, expected_essay_count,
          correlation_id, status, state, version, student_prompt_ref, created_at, updated_at)
        VALUES (${b.batch_id}, ${b.owner_id}, ${b.class_id}, ${b.class_type}, ${b.course_code},
          ${b.language}, ${b.expected_essay_count}, ${b.correlation_id}, ${b.status}, ${b.state}, 1,
          ${JSON.stringify(b.student_prompt_ref ?? null)}::jsonb, ${b.created_at}::timestamptz, ${b.updated_at}::timestamptz)
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING batch_id)`,
    sql`s AS (
        INSERT INTO actor_snapshots (actor_id, machine_id, machine_version, version, snapshot)
        SELECT ${batchActorId(b.batch_id)}, ${w.machineId}, ${w.machineVersion}, 1, ${json(w.snapshot)} FROM b)`,
    sql`h AS (${historyInsert(b.batch_id, w.history, sql`1`)} FROM b)`,
  ];
  if (w.outbox.length > 0) ctes.push(sql`o AS (${outboxInsert(b.batch_id, w.outbox, sql`b`)})`);
  const created = await rows<{ batch_id: string }>(db, sql`WITH ${sql.join(ctes, sql`, `)} SELECT batch_id FROM b`);
  return created.length === 1;
}

export async function writeTransition(db: Db, w: TransitionWrite): Promise<boolean> {
  const ctes: SQL[] = [
    sql`snap AS (
      UPDATE actor_snapshots SET snapshot = ${json(w.snapshot)}, version = version + 1,
        machine_version = ${w.machineVersion}, updated_at = now()
      WHERE actor_id = ${batchActorId(w.batchId)} AND version = ${w.expectedVersion}
      RETURNING version)`,
    sql`proj AS (
      UPDATE batches SET status = ${w.status}, state = ${w.state}, version = snap.version,
        due_at = ${w.dueAt}::timestamptz, prompt_payload = ${JSON.stringify(w.promptPayload ?? null)}::jsonb,
        student_prompt_ref = ${JSON.stringify(w.studentPromptRef ?? null)}::jsonb, updated_at = now()
      FROM snap WHERE batch_id = ${w.batchId})`,
    sql`hist AS (${historyInsert(w.batchId, w.history, sql`snap.version`)} FROM snap)`,
  ];
  if (w.processed) {
    ctes.push(sql`proc AS (
      INSERT INTO processed_events (event_id, batch_id, response, fingerprint)
      SELECT ${w.processed.eventId}, ${w.batchId}, ${json(w.processed.response)}, ${w.processed.fingerprint} FROM snap)`);
  }
  if (w.outbox.length > 0) {
    ctes.push(sql`outb AS (${outboxInsert(w.batchId, w.outbox, sql`snap`)})`);
  }
  if (w.deadline.kind === 'set') {
    ctes.push(sql`dl AS (
      INSERT INTO deadlines (batch_id, version, due_at) SELECT ${w.batchId}, ${w.deadline.version}, ${w.deadline.due_at}::timestamptz FROM snap
      ON CONFLICT (batch_id) DO UPDATE SET version = excluded.version, due_at = excluded.due_at, claimed_until = NULL)`);
  } else if (w.deadline.kind === 'clear') {
    ctes.push(sql`dl AS (DELETE FROM deadlines WHERE batch_id = ${w.batchId} AND EXISTS (SELECT 1 FROM snap))`);
  }
  if (w.newStudents.length > 0) {
    ctes.push(sql`stu AS (
      INSERT INTO students (id, class_id, first_name, last_name, email, is_unknown, created_by_user_id)
      SELECT s.id, s.class_id, s.first_name, s.last_name, s.email, s.is_unknown, ${SYSTEM_TIMEOUT}
      FROM snap, jsonb_to_recordset(${json(w.newStudents)}) AS s(id uuid, class_id uuid, first_name text, last_name text, email text, is_unknown boolean))`);
    // A member of its class, as the real timeout monitor adds it, so the class's roster lists it.
    ctes.push(sql`stu_member AS (
      INSERT INTO class_students (class_id, student_id)
      SELECT s.class_id, s.id FROM snap, jsonb_to_recordset(${json(w.newStudents)}) AS s(id uuid, class_id uuid))`);
  }
  if (w.newAssociations.length > 0) {
    ctes.push(
      sql`assoc_new AS (${associationRowsInsert(sql`snap, jsonb_to_recordset(${json(w.newAssociations)}) AS a(${ASSOCIATION_COLUMNS})`)})`,
    );
  }
  if (w.associationSnapshots.length > 0) {
    const snapshots = associationSnapshotRows(w.batchId, w.associationMachineVersion, w.associationSnapshots);
    ctes.push(
      sql`assoc_snap AS (${associationSnapshotsUpsert(sql`snap, jsonb_to_recordset(${json(snapshots)}) AS r(${ASSOCIATION_SNAPSHOT_COLUMNS})`)})`,
    );
  }
  if (w.changedAssociations.length > 0) {
    ctes.push(
      sql`assoc_upd AS (${associationRowsUpdate(sql`snap, jsonb_to_recordset(${json(w.changedAssociations)}) AS a(${ASSOCIATION_COLUMNS})`, w.batchId)})`,
    );
  }
  const result = await rows<{ version: number }>(db, sql`WITH ${sql.join(ctes, sql`, `)} SELECT version FROM snap`);
  return result.length === 1;
}

/** A refusal is history only, and only if the state it was judged against is still current. */
export async function recordRefusal(db: Db, batchId: string, expectedVersion: number, h: HistoryRow): Promise<boolean> {
  const result = await rows<{ seq: number }>(
    db,
    sql`${historyInsert(batchId, h, sql`${expectedVersion}`)}
      WHERE EXISTS (SELECT 1 FROM actor_snapshots WHERE actor_id = ${batchActorId(batchId)} AND version = ${expectedVersion})
      RETURNING seq`,
  );
  return result.length === 1;
}
