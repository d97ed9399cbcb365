import type { AssociationRecord } from '../machines/association.ts';
import type { batches, history } from './schema.ts';
import type { RosterEntry } from './students.ts';

/** What a transition reads and writes, as the writers (db/transition-writers.ts) and the planner (app/plan.ts) see it. */

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
  /** What the machine was given, for the audit's replay (history.machine_input). */
  machine_input?: unknown;
};

/** One message of a transition's outbox row (db/schema.ts `outbox.messages`). */
export interface OutboxMessage {
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
  outbox: OutboxMessage[];
  deadline: DeadlineWrite;
  /**
   * Associations (essay_student_associations rows) to insert and to update: their projection
   * columns and, the record itself, their snapshot, in one write of the row.
   */
  newAssociations: AssociationRecord[];
  changedAssociations: AssociationRecord[];
  /**
   * Association snapshots to store: the records this transition created or changed, and, on a
   * pre-v3 batch's first write, every other one too (only their snapshot column is written).
   */
  associationSnapshots: AssociationRecord[];
  associationMachineVersion: number;
  newStudents: StudentRow[];
}

/** A new batch actor: its projection row and its first snapshot, history row and outbox rows. */
export interface FirstSnapshotWrite {
  batch: Omit<typeof batches.$inferInsert, 'version' | 'due_at' | 'prompt_payload'>;
  machineId: string;
  machineVersion: number;
  snapshot: unknown;
  history: HistoryRow;
  outbox: OutboxMessage[];
}

/**
 * A snapshot rewritten through the migrations at start, at the row version it was read at: no
 * event was applied, so the version stays. `history` is written when the state string changed;
 * `associationSnapshots` are the records that leave a pre-v3 snapshot for their rows' snapshot column.
 */
export interface SnapshotUpgradeWrite {
  batchId: string;
  /** The row version and machine version the old snapshot was read at; either moved, nothing is written. */
  expectedVersion: number;
  fromMachineVersion: number;
  machineVersion: number;
  snapshot: unknown;
  status: string;
  state: string;
  history: HistoryRow | null;
  associationSnapshots: AssociationRecord[];
  associationMachineVersion: number;
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

export const batchActorId = (batchId: string) => `batch:${batchId}`;
