import type { AssociationRecord } from '../machines/association.ts';
import { batchStatusOf, stateString } from '../machines/describe.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { type StoredBatch, type StoredHistoryRow, allBatchIds, readStoredBatch } from '../db/audit-reads.ts';
import type { Db } from '../db/client.ts';
import type { OutboxMessage } from '../db/transition-types.ts';
import { projectedDueAt } from './plan.ts';
import { type ReplayedRow, replayBatch } from './replay.ts';
import { type BatchSnapshot, migrateBatchSnapshot } from './snapshots.ts';

/**
 * The verifiable audit: replays a batch's history (app/replay.ts) and checks that the replay
 * reproduces what is stored, row by row: each history row, the outbox rows in order, the final
 * batch snapshot and projection row, every association's projection row and snapshot. A
 * difference names the first history row (applied order) where the replay and the store part:
 *  - a history or outbox row: the row that wrote it;
 *  - a field of the batch snapshot: the last row whose transition changed that field in the replay
 *    (the stored value is not the one that row produced);
 *  - an association's row or snapshot: the last row that changed that association;
 *  - the batch's projection row: the last applied transition (each one rewrites it).
 * Outbox envelopes' event ids are fresh per write and their trace context comes from the caller,
 * so both are left out of the comparison; everything else is compared exactly.
 */

export type AuditedTable = 'history' | 'outbox' | 'batch_snapshot' | 'batch_row' | 'association_row' | 'association_snapshot' | 'replay';

export interface AuditEvent {
  seq: number;
  event_type: string;
  event_id: string | null;
}

export interface Difference extends AuditEvent {
  table: AuditedTable;
  /** Which row of the table: an essay id, an outbox seq; absent for the batch's own rows. */
  key?: string;
  /** The field, as a path into the row (`context.association_counts.pending`). */
  field: string;
  expected: unknown;
  stored: unknown;
}

export type AuditReport =
  | { batch_id: string; ok: true; result: 'reproduced'; events: number }
  | {
      batch_id: string;
      ok: false;
      result: 'diverged';
      events: number;
      /** The first history row, in applied order, where the replay and the store part. */
      first_divergence: AuditEvent;
      /** At most MAX_DIFFERENCES, earliest first. */
      differences: Difference[];
    }
  /** The history cannot be replayed (rows from before machine inputs were kept): nothing is claimed. */
  | { batch_id: string; ok: false; result: 'unverifiable'; events: number; first_unreplayable: AuditEvent; reason: string };

export const MAX_DIFFERENCES = 20;

const eventOf = (row: StoredHistoryRow): AuditEvent => ({ seq: row.seq, event_type: row.event_type, event_id: row.event_id });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The audit of one batch, or null when there is no such batch. */
export async function auditBatch(db: Db, batchId: string): Promise<AuditReport | null> {
  if (!UUID.test(batchId)) return null;
  const id = batchId.toLowerCase();
  const stored = await readStoredBatch(db, id);
  return stored ? auditStored(id, stored) : null;
}

/** Every batch's audit, one at a time, oldest batch first. */
export async function* auditEveryBatch(db: Db): AsyncGenerator<AuditReport> {
  for (const batchId of await allBatchIds(db)) {
    const report = await auditBatch(db, batchId);
    if (report) yield report;
  }
}

export function auditStored(batchId: string, stored: StoredBatch): AuditReport {
  const events = stored.history.length;
  const replay = replayBatch(batchId, stored.history);
  if (replay.kind === 'unreplayable') {
    return { batch_id: batchId, ok: false, result: 'unverifiable', events, first_unreplayable: eventOf(replay.row), reason: replay.reason };
  }
  // A replay that failed is compared up to the row it failed at; what the store has beyond differs there.
  const rows: ReplayedRow[] =
    replay.kind === 'failed' ? [...replay.rows, { row: replay.row, history: null, outbox: [], essays: [] }] : replay.rows;
  const found: Array<{ index: number; difference: Difference }> = [];
  const differ = (index: number, table: AuditedTable, field: string, expected: unknown, actual: unknown, key?: string) => {
    const row = rows[Math.min(index, rows.length - 1)]!.row;
    found.push({ index, difference: { ...eventOf(row), table, ...(key === undefined ? {} : { key }), field, expected, stored: actual } });
  };
  if (replay.kind === 'failed') differ(rows.length - 1, 'replay', 'machine_input', 'a transition the machine can take', replay.error);

  compareHistory(rows, differ);
  compareOutbox(rows, stored.outbox, differ);
  if (replay.kind === 'replayed') {
    compareBatch(rows, replay, stored, differ);
    compareAssociations(rows, replay.final.context.associations, stored, differ);
  }
  if (found.length === 0) return { batch_id: batchId, ok: true, result: 'reproduced', events };
  found.sort((a, b) => a.index - b.index);
  const differences = found.slice(0, MAX_DIFFERENCES).map((f) => f.difference);
  const { seq, event_type, event_id } = differences[0]!;
  return { batch_id: batchId, ok: false, result: 'diverged', events, first_divergence: { seq, event_type, event_id }, differences };
}

type Differ = (index: number, table: AuditedTable, field: string, expected: unknown, stored: unknown, key?: string) => void;

const HISTORY_FIELDS = [
  'event_type',
  'event_id',
  'actor',
  'from_state',
  'to_state',
  'correlation_id',
  'outcome',
  'reason',
  'version',
  'detail',
] as const;

function compareHistory(rows: ReplayedRow[], differ: Differ) {
  rows.forEach(({ row, history }, index) => {
    if (history === null) {
      // A migration at start is checked for where it says the batch is.
      const previous = rows.slice(0, index).findLast((r) => r.history?.outcome === 'applied')?.history;
      if (row.event_type === 'SNAPSHOT_MIGRATED' && previous && row.to_state !== previous.to_state)
        differ(index, 'history', 'to_state', previous.to_state, row.to_state);
      return;
    }
    for (const field of HISTORY_FIELDS)
      diffValues(`${field}`, normal(history[field]), row[field], (f, e, s) => differ(index, 'history', f, e, s));
  });
}

/** An outbox message as a difference names it: its row's seq and its place in the row, `12/3`. */
const messageKey = (m: { seq: number; idx: number }) => `${m.seq}/${m.idx}`;

/** Outbox messages in the order the replay writes them, against the batch's stored ones by seq and place in their row. */
function compareOutbox(rows: ReplayedRow[], stored: StoredBatch['outbox'], differ: Differ) {
  const expected = rows.flatMap((r, index) => r.outbox.map((row) => ({ index, row })));
  const count = Math.max(expected.length, stored.length);
  for (let i = 0; i < count; i++) {
    const want = expected[i];
    const have = stored[i];
    const index = want?.index ?? rows.length - 1;
    if (!want || !have) {
      differ(index, 'outbox', 'row', want ? want.row.topic : null, have ? have.topic : null, have ? messageKey(have) : undefined);
      return;
    }
    let differs = false;
    const key = messageKey(have);
    const report = (field: string, expected: unknown, actual: unknown) => {
      differs = true;
      differ(index, 'outbox', field, expected, actual, key);
    };
    diffValues('topic', want.row.topic, have.topic, report);
    diffValues('correlation_id', want.row.correlation_id, have.correlation_id, report);
    const envelope = have.envelope as { event_id?: unknown };
    if (envelope.event_id !== have.event_id) report('envelope.event_id', have.event_id, envelope.event_id);
    diffValues('envelope', comparableEnvelope(want.row), comparableEnvelope(have), report);
    // Past the first differing row the rest may only be shifted: that one row says it.
    if (differs) return;
  }
}

function comparableEnvelope(row: Pick<OutboxMessage, 'envelope'>): unknown {
  const { event_id: _fresh, metadata, ...rest } = normal(row.envelope) as { event_id?: unknown; metadata?: Record<string, unknown> };
  if (!metadata) return rest;
  const { traceparent: _parent, tracestate: _state, ...kept } = metadata;
  return { ...rest, metadata: kept };
}

function compareBatch(rows: ReplayedRow[], replay: { final: BatchSnapshot; version: number }, stored: StoredBatch, differ: Differ) {
  const lastApplied = rows.findLastIndex((r) => r.snapshot !== undefined);
  const { final } = replay;
  const { context } = final;
  const due = projectedDueAt(context);
  // What every applied transition rewrites, and what the registration wrote once.
  const rewritten = {
    state: stateString(final.value),
    status: batchStatusOf(final.value),
    version: replay.version,
    due_at: due === null ? null : new Date(due).toISOString(),
    prompt_payload: context.prompt_payload,
    student_prompt_ref: context.student_prompt_ref ?? null,
  };
  const registered = {
    owner_id: context.owner_id,
    class_id: context.class_id,
    class_type: context.class_type,
    course_code: context.course_code,
    language: context.language,
    expected_essay_count: context.expected_essay_count,
    correlation_id: context.correlation_id,
  };
  for (const [values, index] of [
    [rewritten, lastApplied],
    [registered, 0],
  ] as const) {
    for (const [field, value] of Object.entries(values))
      diffValues(field, normal(value), stored.batch[field as keyof StoredBatch['batch']], (f, e, s) => differ(index, 'batch_row', f, e, s));
  }

  if (!stored.snapshot) {
    differ(lastApplied, 'batch_snapshot', 'snapshot', 'a snapshot', null);
    return;
  }
  diffValues('version', replay.version, stored.snapshot.version, (f, e, s) => differ(lastApplied, 'batch_snapshot', f, e, s));
  const storedSnapshot = migrateBatchSnapshot(stored.snapshot.snapshot, stored.snapshot.machine_version);
  const trail = rows.flatMap((r, index) => (r.snapshot === undefined ? [] : [{ index, snapshot: normal(r.snapshot) }]));
  diffValues('', normal(persistedBatchSnapshot(final)), normal(storedSnapshot), (field, expected, actual) =>
    differ(lastChange(trail, field), 'batch_snapshot', field, expected, actual),
  );
}

/** The replayed row that last changed the value at `path` of the persisted snapshot. */
function lastChange(trail: Array<{ index: number; snapshot: unknown }>, path: string): number {
  for (let k = trail.length - 1; k > 0; k--) {
    if (!sameValue(valueAt(trail[k]!.snapshot, path), valueAt(trail[k - 1]!.snapshot, path))) return trail[k]!.index;
  }
  return trail[0]?.index ?? 0;
}

const PROJECTION_TIMESTAMPS = new Set(['created_at', 'validated_at']);

function compareAssociations(rows: ReplayedRow[], records: Record<string, AssociationRecord>, stored: StoredBatch, differ: Differ) {
  const changedBy = new Map<string, number>();
  rows.forEach((r, index) => {
    for (const essay of r.essays) changedBy.set(essay, index);
  });
  const last = rows.length - 1;
  const storedRows = new Map(stored.associationRows.map((r) => [r.essay_id, r]));
  const storedSnapshots = new Map(stored.associationSnapshots.map((r) => [r.essay_id, r]));
  for (const essay of new Set([...Object.keys(records), ...storedRows.keys(), ...storedSnapshots.keys()])) {
    const index = changedBy.get(essay) ?? last;
    const record = records[essay] as (AssociationRecord & Record<string, unknown>) | undefined;
    const row = storedRows.get(essay);
    const snapshot = storedSnapshots.get(essay);
    if (!record || !row) differ(index, 'association_row', 'row', record ? 'present' : null, row ? 'present' : null, essay);
    if (!record || !snapshot) differ(index, 'association_snapshot', 'row', record ? 'present' : null, snapshot ? 'present' : null, essay);
    if (!record) continue;
    if (row) {
      for (const [column, value] of Object.entries(row)) {
        const expected = PROJECTION_TIMESTAMPS.has(column) && typeof record[column] === 'string' ? isoOf(record[column]) : record[column];
        diffValues(column, normal(expected), value, (f, e, s) => differ(index, 'association_row', f, e, s, essay));
      }
    }
    if (snapshot)
      diffValues('', normal(record), normal(snapshot.snapshot), (f, e, s) => differ(index, 'association_snapshot', f, e, s, essay));
  }
}

const isoOf = (value: string) => (Number.isNaN(Date.parse(value)) ? value : new Date(value).toISOString());

// ---- Values: JSON as stored (undefined gone, keys unordered), compared and diffed by path. ----

function normal(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let at: unknown = value;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Reports each leaf where `expected` and `stored` differ, by its path below `path`. */
function diffValues(path: string, expected: unknown, stored: unknown, report: (field: string, expected: unknown, stored: unknown) => void) {
  if (sameValue(expected, stored)) return;
  const objects = typeof expected === 'object' && typeof stored === 'object' && expected !== null && stored !== null;
  if (!objects || Array.isArray(expected) !== Array.isArray(stored)) {
    report(path === '' ? '(value)' : path, expected, stored);
    return;
  }
  const e = expected as Record<string, unknown>;
  const s = stored as Record<string, unknown>;
  for (const key of new Set([...Object.keys(e), ...Object.keys(s)])) {
    diffValues(path === '' ? key : `${path}.${key}`, e[key] ?? null, s[key] ?? null, report);
  }
}
