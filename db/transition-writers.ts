import type { AssociationRecord } from '../machines/association.ts';
import { SYSTEM_TIMEOUT } from '../machines/domain.ts';
import { type Db, rowsOfText } from './client.ts';
import { Statement } from './statement.ts';
import {
  type FirstSnapshotWrite,
  type HistoryRow,
  type OutboxMessage,
  type SnapshotUpgradeWrite,
  type TransitionWrite,
  batchActorId,
} from './transition-types.ts';

/**
 * The write side of a transition, for one event and for many. Everything a transition changes goes
 * into ONE statement of data-modifying CTEs guarded by the snapshot's row version, so it commits
 * atomically and costs one round trip; a lost race changes nothing.
 *
 * Every row but the snapshot's arrives as a JSON record set (`jsonb_to_recordset`) carrying its
 * batch id and joins the snapshots actually updated (`JOIN snap USING (batch_id)`). So the single
 * write (writeTransition) and the burst's set statement (writeTransitions) are the same statement
 * built from the same fragments (transitionStatement): the single one has one write, probes the
 * snapshot by its key and leaves out the CTEs it has no rows for. The first snapshot, a refusal and
 * the upgrade at start write their history, outbox and association rows with the same fragments.
 * The sweep's reminders (writeNotifications) write their outbox and history rows with them too.
 * tests/integration/transition-writers.test.ts holds the single and the set writes equal.
 *
 * The fragments are plain strings adding their values to one Statement (db/statement.ts), not
 * drizzle's `sql` builder, whose walk over the chunks cost more CPU than the rest of the write.
 */

/** A kind of row as columns and their types, read from a JSON record set or, a single row, from parameters. */
type Columns = ReadonlyArray<readonly [string, string]>;
const columnList = (columns: Columns) => columns.map(([column, type]) => `${column} ${type}`).join(', ');

/** One row as typed parameters, named as its columns. */
const parameters = (st: Statement, row: Record<string, unknown>, columns: Columns) =>
  columns
    .map(([column, type]) => {
      // As jsonb_to_recordset reads them: a missing key or a JSON null is SQL NULL.
      const value = row[column] === undefined || row[column] === null ? null : type === 'jsonb' ? JSON.stringify(row[column]) : row[column];
      return `${st.param(value, type)} AS ${column}`;
    })
    .join(', ');

/** Rows read as `alias` (with `columns`) from a JSON record set. */
const jsonRecords = (st: Statement, rowsOf: unknown[], alias: string, columns: Columns) =>
  `jsonb_to_recordset(${st.json(rowsOf)}) AS ${alias}(${columnList(columns)})`;

/**
 * Rows read as `alias` from a JSON record set, joined to the CTE `joined` by batch id. With `one`,
 * a single row is sent as parameters instead (no JSON to take apart; what the single write sends).
 */
const recordset = (st: Statement, rowsOf: unknown[], alias: string, columns: Columns, joined: string, one = false): string =>
  one && rowsOf.length === 1
    ? `(SELECT ${parameters(st, rowsOf[0] as Record<string, unknown>, columns)}) AS ${alias} JOIN ${joined} USING (batch_id)`
    : `${jsonRecords(st, rowsOf, alias, columns)} JOIN ${joined} USING (batch_id)`;

// ---- The fragments: one per table a transition writes, each reading its rows from `source`. ----

/** The snapshot's and the projection's columns of a write, read as `w`. */
const HEAD_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['actor_id', 'text'],
  ['expected_version', 'int'],
  ['machine_version', 'int'],
  ['snapshot', 'jsonb'],
  ['status', 'text'],
  ['state', 'text'],
  ['due_at', 'timestamptz'],
  ['prompt_payload', 'jsonb'],
  ['student_prompt_ref', 'jsonb'],
];

const HISTORY_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['at', 'timestamptz'],
  ['event_type', 'text'],
  ['event_id', 'text'],
  ['actor', 'text'],
  ['from_state', 'text'],
  ['to_state', 'text'],
  ['correlation_id', 'uuid'],
  ['outcome', 'text'],
  ['reason', 'text'],
  ['detail', 'jsonb'],
  ['machine_input', 'jsonb'],
];

const historyRow = (batchId: string, h: HistoryRow) => ({
  batch_id: batchId,
  ...h,
  detail: h.detail ?? null,
  machine_input: h.machine_input ?? null,
});

/** History rows read as `h` (HISTORY_COLUMNS) from `source`, at row version `version`. */
function historyInsert(source: string, version: string): string {
  return `INSERT INTO history (batch_id, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail, machine_input)
    SELECT h.batch_id, h.at, h.event_type, h.event_id, h.actor, h.from_state, h.to_state, h.correlation_id, h.outcome, h.reason, ${version}, h.detail, h.machine_input
    FROM ${source}`;
}

/** A transition's outbox row: all its messages in one array (the relays fan them out). */
const OUTBOX_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['messages', 'jsonb'],
];

/** The outbox row of one batch's messages, or none when it has none. */
const outboxRows = (batchId: string | null, messages: OutboxMessage[]) => (messages.length > 0 ? [{ batch_id: batchId, messages }] : []);

function outboxInsert(source: string): string {
  return `INSERT INTO outbox (batch_id, messages) SELECT o.batch_id, o.messages FROM ${source}`;
}

const PROCESSED_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['event_id', 'text'],
  ['response', 'jsonb'],
  ['fingerprint', 'text'],
];

function processedInsert(source: string): string {
  return `INSERT INTO processed_events (event_id, batch_id, response, fingerprint)
    SELECT p.event_id, p.batch_id, p.response, p.fingerprint FROM ${source}`;
}

const DEADLINE_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['version', 'int'],
  ['due_at', 'timestamptz'],
];

function deadlineUpsert(source: string): string {
  return `INSERT INTO deadlines (batch_id, version, due_at)
    SELECT d.batch_id, d.version, d.due_at FROM ${source}
    ON CONFLICT (batch_id) DO UPDATE SET version = excluded.version, due_at = excluded.due_at, claimed_until = NULL`;
}

function deadlineDelete(source: string): string {
  return `DELETE FROM deadlines d USING ${source} WHERE d.batch_id = c.batch_id`;
}

const STUDENT_COLUMNS: Columns = [
  ['batch_id', 'uuid'],
  ['id', 'uuid'],
  ['class_id', 'uuid'],
  ['first_name', 'text'],
  ['last_name', 'text'],
  ['email', 'text'],
  ['is_unknown', 'boolean'],
];

function studentsInsert(source: string): string {
  return `INSERT INTO students (id, class_id, first_name, last_name, email, is_unknown, created_by_user_id)
    SELECT s.id, s.class_id, s.first_name, s.last_name, s.email, s.is_unknown, '${SYSTEM_TIMEOUT}' FROM ${source}`;
}

/** A new (UNKNOWN) student is a member of its class, as the real timeout monitor adds it, so the class's roster lists it. */
function membersInsert(source: string): string {
  return `INSERT INTO class_students (class_id, student_id) SELECT s.class_id, s.id FROM ${source}`;
}

const ASSOCIATION_COLUMNS: Columns = [
  ['essay_id', 'uuid'],
  ['student_id', 'uuid'],
  ['batch_id', 'uuid'],
  ['class_id', 'uuid'],
  ['created_by_user_id', 'text'],
  ['created_at', 'timestamptz'],
  ['confidence_score', 'double precision'],
  ['match_reasons', 'jsonb'],
  ['validation_status', 'text'],
  ['validated_by', 'text'],
  ['validated_at', 'timestamptz'],
  ['validation_method', 'text'],
  ['suggested_student_id', 'uuid'],
  ['text_storage_id', 'text'],
  ['filename', 'text'],
  ['suggestions', 'jsonb'],
  ['machine_version', 'int'],
  ['snapshot', 'jsonb'],
];

/** Rows for the association fragments: each record's projection columns, and the record itself as its snapshot. */
const associationRows = (machineVersion: number, records: AssociationRecord[]) =>
  records.map((record) => ({ ...record, machine_version: machineVersion, snapshot: record }));

/**
 * Inserts new associations, read as `a` from `source`: the projection row and its snapshot in one
 * row. No ON CONFLICT: an essay already associated in another batch trips the unique essay_id and
 * refuses the whole statement as a conflict (app/write-errors.ts).
 */
function associationRowsInsert(source: string): string {
  return `INSERT INTO essay_student_associations (essay_id, student_id, batch_id, class_id, created_by_user_id, created_at,
        confidence_score, match_reasons, validation_status, validated_by, validated_at, validation_method,
        suggested_student_id, text_storage_id, filename, suggestions, machine_version, snapshot)
      SELECT a.essay_id, a.student_id, a.batch_id, a.class_id, a.created_by_user_id, a.created_at, a.confidence_score,
        a.match_reasons, a.validation_status, a.validated_by, a.validated_at, a.validation_method,
        a.suggested_student_id, a.text_storage_id, a.filename, a.suggestions, a.machine_version, a.snapshot
      FROM ${source}`;
}

/** Updates changed associations, read as `a` from `source`, of their own batch: the decided projection fields and the snapshot. */
function associationRowsUpdate(source: string): string {
  return `UPDATE essay_student_associations e SET student_id = a.student_id, validation_status = a.validation_status,
        validated_by = a.validated_by, validated_at = a.validated_at, validation_method = a.validation_method,
        machine_version = a.machine_version, snapshot = a.snapshot
      FROM ${source}
      WHERE e.essay_id = a.essay_id AND e.batch_id = a.batch_id`;
}

const ASSOCIATION_SNAPSHOT_COLUMNS: Columns = [
  ['essay_id', 'uuid'],
  ['batch_id', 'uuid'],
  ['machine_version', 'int'],
  ['snapshot', 'jsonb'],
];

/** Rows for associationSnapshotsUpdate: each record with its essay, its batch and its machine version. */
const associationSnapshotRows = (batchId: string, machineVersion: number, records: AssociationRecord[]) =>
  records.map((snapshot) => ({ essay_id: snapshot.essay_id, batch_id: batchId, machine_version: machineVersion, snapshot }));

/**
 * The records of a transition whose snapshot is stored with no projection change: a pre-v3 batch's
 * unchanged associations, leaving its snapshot for their rows. The new and changed ones are left
 * out, as their snapshot is written with their projection: PostgreSQL does not say which of two
 * updates of one row in one statement wins, and an update does not see a row the same statement
 * inserts, so each association row is written once.
 */
function unchangedSnapshots(w: TransitionWrite): AssociationRecord[] {
  const written = new Set([...w.newAssociations, ...w.changedAssociations].map((a) => a.essay_id));
  return w.associationSnapshots.filter((a) => !written.has(a.essay_id));
}

/** Stores the snapshots of associations, read as `r` (ASSOCIATION_SNAPSHOT_COLUMNS) from `source`, in their own batch's rows. */
function associationSnapshotsUpdate(source: string): string {
  return `UPDATE essay_student_associations e SET machine_version = r.machine_version, snapshot = r.snapshot
      FROM ${source}
      WHERE e.essay_id = r.essay_id AND e.batch_id = r.batch_id`;
}

// ---- A transition: one write, or a set of writes of different batches. ----

/**
 * The rows of each table the writes change, and how they are written. Each part is a CTE reading
 * its rows as a record set joined to `snap`, the snapshots actually updated: a batch whose row
 * version moved writes nothing at all while the others commit.
 */
const TRANSITION_PARTS: ReadonlyArray<{
  name: string;
  rows(w: TransitionWrite): unknown[];
  write(st: Statement, rows: unknown[], one: boolean): string;
}> = [
  {
    name: 'hist',
    rows: (w) => [historyRow(w.batchId, w.history)],
    write: (st, r, one) => historyInsert(recordset(st, r, 'h', HISTORY_COLUMNS, 'snap', one), 'snap.version'),
  },
  {
    name: 'proc',
    rows: (w) =>
      w.processed
        ? [{ batch_id: w.batchId, event_id: w.processed.eventId, response: w.processed.response, fingerprint: w.processed.fingerprint }]
        : [],
    write: (st, r, one) => processedInsert(recordset(st, r, 'p', PROCESSED_COLUMNS, 'snap', one)),
  },
  {
    name: 'outb',
    rows: (w) => outboxRows(w.batchId, w.outbox),
    write: (st, r, one) => outboxInsert(recordset(st, r, 'o', OUTBOX_COLUMNS, 'snap', one)),
  },
  {
    name: 'dl_set',
    rows: (w) => (w.deadline.kind === 'set' ? [{ batch_id: w.batchId, version: w.deadline.version, due_at: w.deadline.due_at }] : []),
    write: (st, r, one) => deadlineUpsert(recordset(st, r, 'd', DEADLINE_COLUMNS, 'snap', one)),
  },
  {
    name: 'dl_clear',
    rows: (w) => (w.deadline.kind === 'clear' ? [{ batch_id: w.batchId }] : []),
    write: (st, r, one) => deadlineDelete(recordset(st, r, 'c', [['batch_id', 'uuid']], 'snap', one)),
  },
  {
    name: 'stu',
    rows: (w) => w.newStudents.map((s) => ({ batch_id: w.batchId, ...s })),
    write: (st, r, one) => studentsInsert(recordset(st, r, 's', STUDENT_COLUMNS, 'snap', one)),
  },
  {
    name: 'stu_member',
    rows: (w) => w.newStudents.map((s) => ({ batch_id: w.batchId, id: s.id, class_id: s.class_id })),
    write: (st, r, one) =>
      membersInsert(
        recordset(
          st,
          r,
          's',
          [
            ['batch_id', 'uuid'],
            ['id', 'uuid'],
            ['class_id', 'uuid'],
          ],
          'snap',
          one,
        ),
      ),
  },
  {
    name: 'assoc_new',
    rows: (w) => associationRows(w.associationMachineVersion, w.newAssociations),
    write: (st, r, one) => associationRowsInsert(recordset(st, r, 'a', ASSOCIATION_COLUMNS, 'snap', one)),
  },
  {
    name: 'assoc_upd',
    rows: (w) => associationRows(w.associationMachineVersion, w.changedAssociations),
    write: (st, r, one) => associationRowsUpdate(recordset(st, r, 'a', ASSOCIATION_COLUMNS, 'snap', one)),
  },
  {
    name: 'assoc_snap',
    rows: (w) => associationSnapshotRows(w.batchId, w.associationMachineVersion, unchangedSnapshots(w)),
    write: (st, r, one) => associationSnapshotsUpdate(recordset(st, r, 'r', ASSOCIATION_SNAPSHOT_COLUMNS, 'snap', one)),
  },
];

/**
 * The statement of writeTransition (`one`) and writeTransitions (`set`); apart so that
 * bench/explain.ts can show its plan. The set keeps every CTE, so its text does not depend on
 * which rows a burst has; the single write sends its snapshot and projection as parameters, names
 * its snapshot's key and leaves out the CTEs it has no rows for.
 */
export function transitionStatement(writes: TransitionWrite[], shape: 'one' | 'set'): { text: string; params: unknown[] } {
  const st = new Statement();
  const heads = writes.map((w) => ({
    batch_id: w.batchId,
    actor_id: batchActorId(w.batchId),
    expected_version: w.expectedVersion,
    machine_version: w.machineVersion,
    snapshot: w.snapshot,
    status: w.status,
    state: w.state,
    due_at: w.dueAt,
    prompt_payload: w.promptPayload ?? null,
    student_prompt_ref: w.studentPromptRef ?? null,
  }));
  const one = shape === 'one';
  const w = one
    ? `w AS (SELECT ${parameters(st, heads[0]!, HEAD_COLUMNS)})`
    : `w AS (SELECT * FROM ${jsonRecords(st, heads, 'w', HEAD_COLUMNS)})`;
  // The keys let the planner probe the primary keys: it expects 100 rows from any jsonb_to_recordset and
  // would otherwise scan the whole table to hash-join them.
  const key = one ? st.param(heads[0]!.actor_id) : 'ANY(ARRAY(SELECT actor_id FROM w))';
  const batchKey = one ? ` AND b.batch_id = ${st.param(heads[0]!.batch_id, 'uuid')}` : '';
  const ctes = [
    w,
    `snap AS (
        UPDATE actor_snapshots s SET snapshot = w.snapshot, version = s.version + 1, machine_version = w.machine_version, updated_at = now()
        FROM w WHERE s.actor_id = w.actor_id AND s.version = w.expected_version AND s.actor_id = ${key}
        RETURNING w.batch_id, s.version)`,
    `proj AS (
        UPDATE batches b SET status = w.status, state = w.state, version = snap.version, due_at = w.due_at,
          prompt_payload = coalesce(w.prompt_payload, 'null'), student_prompt_ref = coalesce(w.student_prompt_ref, 'null'), updated_at = now()
        FROM snap JOIN w USING (batch_id) WHERE b.batch_id = snap.batch_id${batchKey})`,
  ];
  for (const part of TRANSITION_PARTS) {
    const found = writes.flatMap((w) => part.rows(w));
    if (!one || found.length > 0) ctes.push(`${part.name} AS (${part.write(st, found, one)})`);
  }
  return { text: `WITH ${ctes.join(', ')} SELECT batch_id FROM snap`, params: st.params };
}

/** One transition of one batch. Reports `false`, writing nothing, when its row version moved. */
export async function writeTransition(db: Db, w: TransitionWrite): Promise<boolean> {
  const { text, params } = transitionStatement([w], 'one');
  return (await rowsOfText<{ batch_id: string }>(db, text, params)).length === 1;
}

/**
 * Many transitions of different batches in ONE statement: the burst's writes as a set. Each
 * batch's snapshot update is still guarded by its own row version. N pipelined statements cost
 * PostgreSQL N parses, plans and executions of a dozen CTEs; this costs one, whatever N is.
 * Answers the ids of the batches written.
 */
export async function writeTransitions(db: Db, writes: TransitionWrite[]): Promise<Set<string>> {
  if (writes.length === 0) return new Set();
  if (new Set(writes.map((w) => w.batchId)).size !== writes.length)
    throw new Error("writeTransitions: one write per batch; a second write of a batch would join the first one's update");
  const { text, params } = transitionStatement(writes, 'set');
  const written = await rowsOfText<{ batch_id: string }>(db, text, params);
  return new Set(written.map((r) => r.batch_id));
}

/** A refusal is history only, and only if the state it was judged against is still current. */
export async function recordRefusal(db: Db, batchId: string, expectedVersion: number, h: HistoryRow): Promise<boolean> {
  const st = new Statement();
  const version = st.param(expectedVersion, 'int');
  const text = `${historyInsert(`(SELECT ${parameters(st, historyRow(batchId, h), HISTORY_COLUMNS)}) AS h`, version)}
      WHERE EXISTS (SELECT 1 FROM actor_snapshots WHERE actor_id = ${st.param(batchActorId(batchId))} AND version = ${version})
      RETURNING seq`;
  return (await rowsOfText<{ seq: number }>(db, text, st.params)).length === 1;
}

/**
 * Creates a batch actor at row version 1 in one statement. Reports `false`, writing nothing, when
 * the batch id is taken.
 */
export async function writeFirstSnapshot(db: Db, w: FirstSnapshotWrite): Promise<boolean> {
  const b = w.batch;
  const st = new Statement();
  const p = (value: unknown, type?: string) => st.param(value ?? null, type);
  const ctes = [
    `b AS (
        INSERT INTO batches (batch_id, owner_id, class_id, class_type, course_code, language, expected_essay_count,
          correlation_id, status, state, version, student_prompt_ref, created_at, updated_at)
        VALUES (${p(b.batch_id)}, ${p(b.owner_id)}, ${p(b.class_id)}, ${p(b.class_type)}, ${p(b.course_code)},
          ${p(b.language)}, ${p(b.expected_essay_count)}, ${p(b.correlation_id)}, ${p(b.status)}, ${p(b.state)}, 1,
          ${st.json(b.student_prompt_ref ?? null)}, ${p(b.created_at, 'timestamptz')}, ${p(b.updated_at, 'timestamptz')})
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING batch_id)`,
    `s AS (
        INSERT INTO actor_snapshots (actor_id, machine_id, machine_version, version, snapshot)
        SELECT ${p(batchActorId(b.batch_id))}, ${p(w.machineId)}, ${p(w.machineVersion)}, 1, ${st.json(w.snapshot)} FROM b)`,
    `h AS (${historyInsert(recordset(st, [historyRow(b.batch_id, w.history)], 'h', HISTORY_COLUMNS, 'b', true), '1')})`,
  ];
  const outbox = outboxRows(b.batch_id, w.outbox);
  if (outbox.length > 0) ctes.push(`o AS (${outboxInsert(recordset(st, outbox, 'o', OUTBOX_COLUMNS, 'b', true))})`);
  return (await rowsOfText<{ batch_id: string }>(db, `WITH ${ctes.join(', ')} SELECT batch_id FROM b`, st.params)).length === 1;
}

/**
 * Rewrites one batch snapshot through the migrations at start, with its projection's state and
 * status, keeping its row version; guarded by the row and machine versions it was read at.
 * Reports `false`, writing nothing, when either moved.
 */
export async function writeSnapshotUpgrade(db: Db, u: SnapshotUpgradeWrite): Promise<boolean> {
  const st = new Statement();
  const batchId = st.param(u.batchId, 'uuid');
  const ctes = [
    `snap AS (
        UPDATE actor_snapshots SET snapshot = ${st.json(u.snapshot)}, machine_version = ${st.param(u.machineVersion, 'int')}, updated_at = now()
        WHERE actor_id = ${st.param(batchActorId(u.batchId))} AND version = ${st.param(u.expectedVersion, 'int')}
          AND machine_version = ${st.param(u.fromMachineVersion, 'int')}
        RETURNING ${batchId} AS batch_id, version)`,
    `proj AS (
        UPDATE batches b SET state = ${st.param(u.state)}, status = ${st.param(u.status)}, updated_at = now()
        FROM snap WHERE b.batch_id = snap.batch_id AND b.batch_id = ${batchId})`,
  ];
  if (u.history)
    ctes.push(
      `hist AS (${historyInsert(recordset(st, [historyRow(u.batchId, u.history)], 'h', HISTORY_COLUMNS, 'snap'), 'snap.version')})`,
    );
  const snapshots = associationSnapshotRows(u.batchId, u.associationMachineVersion, u.associationSnapshots);
  if (snapshots.length > 0)
    ctes.push(`assoc_snap AS (${associationSnapshotsUpdate(recordset(st, snapshots, 'r', ASSOCIATION_SNAPSHOT_COLUMNS, 'snap'))})`);
  return (await rowsOfText<{ batch_id: string }>(db, `WITH ${ctes.join(', ')} SELECT batch_id FROM snap`, st.params)).length === 1;
}

/**
 * Notifications that change no state (the sweep's reminders): each an outbox row and a history row
 * at its batch's current row version, in one statement.
 */
export async function writeNotifications(
  db: Db,
  notes: Array<{ batchId: string; batchVersion: number; outbox: OutboxMessage; history: HistoryRow }>,
): Promise<void> {
  if (notes.length === 0) return;
  const st = new Statement();
  const outbox = notes.flatMap((n) => outboxRows(n.batchId, [n.outbox]));
  const history = notes.map((n) => ({ ...historyRow(n.batchId, n.history), version: n.batchVersion }));
  await rowsOfText(
    db,
    `WITH outb AS (${outboxInsert(jsonRecords(st, outbox, 'o', OUTBOX_COLUMNS))})
    ${historyInsert(jsonRecords(st, history, 'h', [...HISTORY_COLUMNS, ['version', 'int']]), 'h.version')}`,
    st.params,
  );
}
