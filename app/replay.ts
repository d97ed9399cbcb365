import type { AssociationRecord } from '../machines/association.ts';
import { BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';
import { stateString } from '../machines/describe.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { initialStep } from '../machines/step.ts';
import type { StoredHistoryRow } from '../db/audit-reads.ts';
import type { HistoryRow, OutboxMessage } from '../db/transition-types.ts';
import { type RegistrationInput, registrationOutbox } from './batches.ts';
import { type TransitionInput, planTransition } from './plan.ts';
import { reminderOf } from './reminders.ts';
import {
  RETENTION_ACTOR,
  RETENTION_EVENT,
  RETENTION_OUTCOME,
  redactAssociationSnapshot,
  redactBatchSnapshot,
  redactEnvelope,
  redactHistoryDetail,
  redactMachineInput,
} from './retention-redact.ts';
import { type BatchSnapshot, restoreBatchSnapshot } from './snapshots.ts';

/**
 * Replays a batch's history through the machines, from its registration, with the same planner
 * that wrote it (app/plan.ts): each row's kept machine input (history.machine_input) goes through
 * planTransition against the snapshot the previous rows produced, at the row's own time. What
 * comes out is what every row should have written; app/audit.ts compares it with what is stored.
 *
 * The replay runs on the current machine version. Old machine versions are not kept in the code,
 * and stored snapshots are migrated forward (app/upgrade.ts), so the replay compares against the
 * stored snapshot brought to the current version: a machine change that alters what an old event
 * does shows as a divergence at that event, which is what an audit should say.
 *
 * A retention purge (app/retention.ts) is no machine event: it rewrote every document of the batch
 * through the pure redactions of app/retention-redact.ts and appended a `RETENTION_PURGED` row at
 * the batch's version. The replay does the same at that row: what it produced so far passes through
 * the same redactions (idempotent, so a document purged twice reads the same), and the rows after it
 * are replayed from the redacted batch, as the service took them.
 */

/** A history row as a transition, a reminder or a retention purge writes it. */
export type ReplayedHistoryRow = Omit<HistoryRow, 'outcome'> & {
  outcome: HistoryRow['outcome'] | typeof RETENTION_OUTCOME;
  version: number;
};

/** What one history row should have written, replayed. */
export interface ReplayedRow {
  row: StoredHistoryRow;
  /** The history row as the replay writes it (null for rows it only checks, such as SNAPSHOT_MIGRATED). */
  history: ReplayedHistoryRow | null;
  outbox: OutboxMessage[];
  /** The persisted batch snapshot after this row, when the row applied a transition. */
  snapshot?: unknown;
  /** Essays whose association this row created or changed. */
  essays: string[];
}

export type Replay =
  | {
      kind: 'replayed';
      rows: ReplayedRow[];
      final: BatchSnapshot;
      /** The row version the replay ends at. */
      version: number;
    }
  /** A row the replay cannot run: written before machine inputs were kept, or not a history it knows. */
  | { kind: 'unreplayable'; row: StoredHistoryRow; reason: string }
  /** The machine could not take a kept input at all (a restore or a step threw). */
  | { kind: 'failed'; rows: ReplayedRow[]; row: StoredHistoryRow; error: string };

/**
 * Rows in the order they were applied: by the row version they were written at, the transition
 * that made a version before the refusals, reminders and migrations judged against it.
 */
export function appliedOrder(history: StoredHistoryRow[]): StoredHistoryRow[] {
  const rank = (h: StoredHistoryRow) => (h.outcome === 'applied' && h.event_type !== 'SNAPSHOT_MIGRATED' ? 0 : 1);
  return [...history].sort((a, b) => a.version - b.version || rank(a) - rank(b) || a.seq - b.seq);
}

const ONLY_CHECKED = new Set(['SNAPSHOT_MIGRATED']);

const isPurge = (row: StoredHistoryRow) => row.event_type === RETENTION_EVENT && row.outcome === RETENTION_OUTCOME;

export function replayBatch(batchId: string, history: StoredHistoryRow[]): Replay {
  const ordered = appliedOrder(history);
  const first = ordered[0];
  if (!first || first.event_type !== 'BATCH_REGISTERED') {
    return first
      ? { kind: 'unreplayable', row: first, reason: `the history begins with ${first.event_type}, not BATCH_REGISTERED` }
      : { kind: 'unreplayable', row: { seq: 0 } as StoredHistoryRow, reason: 'the batch has no history' };
  }
  const missing = ordered.find(
    (h) => h.machine_input === null && !ONLY_CHECKED.has(h.event_type) && h.outcome !== 'notified' && !isPurge(h),
  );
  if (missing) {
    return {
      kind: 'unreplayable',
      row: missing,
      reason: `history row ${missing.seq} (${missing.event_type}) was written before history kept machine inputs (history.machine_input); the batch cannot be replayed`,
    };
  }

  const registration = first.machine_input as RegistrationInput;
  const [initial] = initialStep(batchMachine, registration.input);
  let current: BatchSnapshot = initial;
  let version = 1;
  let replayed: ReplayedRow[] = [
    {
      row: first,
      history: {
        event_type: 'BATCH_REGISTERED',
        event_id: null,
        actor: registration.input.owner_id,
        from_state: null,
        to_state: stateString(initial.value),
        correlation_id: registration.input.correlation_id,
        outcome: 'applied',
        reason: null,
        at: first.at,
        detail: null,
        machine_input: registration,
        version: 1,
      },
      outbox: [registrationOutbox(registration, first.at)],
      snapshot: persistedBatchSnapshot(initial),
      essays: [],
    },
  ];

  for (const row of ordered.slice(1)) {
    try {
      if (row.event_type === 'SNAPSHOT_MIGRATED') {
        replayed.push({ row, history: null, outbox: [], essays: [] });
        continue;
      }
      if (isPurge(row)) {
        replayed = replayed.map(redactReplayed);
        current = redactedBatch(current);
        replayed.push({ row, history: purgeRow(row, current, version), outbox: [], essays: [] });
        continue;
      }
      if (row.outcome === 'notified') {
        replayed.push(replayReminder(batchId, row, current, version));
        continue;
      }
      const { event, audit } = row.machine_input as TransitionInput;
      const plan = planTransition({
        request: {
          batchId,
          eventId: row.event_id ?? '',
          actor: row.actor,
          correlationId: row.correlation_id,
          ...(audit ? { auditDetail: audit } : {}),
        },
        before: current,
        rowVersion: version,
        event,
        at: row.at,
      });
      if (plan.kind === 'refused') {
        replayed.push({ row, history: { ...plan.write, version }, outbox: [], essays: [] });
        continue;
      }
      const { write } = plan;
      version += 1;
      // As the service restores it for the next event: the persisted snapshot with the association
      // records as the working set, here all of them, in essay order as db/actor-load.ts reads them.
      const records: Record<string, AssociationRecord> = { ...current.context.associations };
      for (const record of write.associationSnapshots) records[record.essay_id] = record;
      current = restoreBatchSnapshot({
        snapshot: write.snapshot,
        machine_version: BATCH_MACHINE_VERSION,
        associations: Object.values(records).sort((a, b) => (a.essay_id < b.essay_id ? -1 : a.essay_id > b.essay_id ? 1 : 0)),
      });
      replayed.push({
        row,
        history: { ...write.history, version },
        outbox: write.outbox,
        snapshot: write.snapshot,
        essays: write.associationSnapshots.map((a) => a.essay_id),
      });
    } catch (error) {
      return { kind: 'failed', rows: replayed, row, error: (error as Error).message };
    }
  }
  return { kind: 'replayed', rows: replayed, final: current, version };
}

/** The deadline's reminder, as the sweep writes it for the batch as the replay has it. */
function replayReminder(batchId: string, row: StoredHistoryRow, current: BatchSnapshot, version: number): ReplayedRow {
  const { context } = current;
  if (context.deadline === null) throw new Error(`reminder at version ${version} of a batch without a pending deadline`);
  const pending = Object.values(context.associations).filter((a) => a.validation_status === 'pending_validation').length;
  const reminder = reminderOf(
    {
      batch_id: batchId,
      version: context.deadline.version,
      due_at: context.deadline.due_at,
      owner_id: context.owner_id,
      class_id: context.class_id,
      correlation_id: context.correlation_id,
      state: stateString(current.value),
      batch_version: version,
      pending,
    },
    row.at,
  );
  return { row, history: { ...reminder.history, version }, outbox: [reminder.outbox], essays: [] };
}

/** What a purge left of one replayed row's documents: the same redactions retention applied to the stored ones. */
function redactReplayed(replayed: ReplayedRow): ReplayedRow {
  const { history } = replayed;
  return {
    ...replayed,
    history: history && {
      ...history,
      detail: redactHistoryDetail(history.detail),
      machine_input: redactMachineInput(history.machine_input),
    },
    outbox: replayed.outbox.map((o) => ({ ...o, envelope: redactEnvelope(o.envelope) })),
    ...(replayed.snapshot === undefined ? {} : { snapshot: redactBatchSnapshot(replayed.snapshot) }),
  };
}

/** The batch as the service restores it after a purge: its redacted snapshot and association snapshots. */
function redactedBatch(current: BatchSnapshot): BatchSnapshot {
  return restoreBatchSnapshot({
    snapshot: redactBatchSnapshot(persistedBatchSnapshot(current)),
    machine_version: BATCH_MACHINE_VERSION,
    associations: Object.values(current.context.associations)
      .map(redactAssociationSnapshot)
      .sort((a, b) => (a.essay_id < b.essay_id ? -1 : a.essay_id > b.essay_id ? 1 : 0)),
  });
}

/**
 * The purge's own history row, as retention writes it: at the batch's state and version, which it
 * does not change. Its detail (the period and the rows rewritten) is the purge's count, not the
 * machine's, and is taken as stored.
 */
function purgeRow(row: StoredHistoryRow, current: BatchSnapshot, version: number): ReplayedHistoryRow {
  const state = stateString(current.value);
  return {
    event_type: RETENTION_EVENT,
    event_id: null,
    actor: RETENTION_ACTOR,
    from_state: state,
    to_state: state,
    correlation_id: current.context.correlation_id,
    outcome: RETENTION_OUTCOME,
    reason: null,
    at: row.at,
    detail: row.detail,
    version,
  };
}
