import { sql } from 'drizzle-orm';
import type { AssociationRecord } from '../machines/association.ts';
import { type Db, rows, rowsOfText } from './client.ts';
import { Statement } from './statement.ts';
import { type AssociationSelection, type LoadedActor, batchActorId } from './transition-types.ts';

/** The read side of a transition: a batch actor with what its event needs, in one round trip. */

/**
 * The association snapshots of the batch named by the SQL expression `batch`, as one JSON array; only
 * those of the essays in the JSON array `essays` (a placeholder) when given. A row of a pre-v3 batch
 * nobody upgraded has none yet (its records are in the batch snapshot) and adds nothing.
 */
export function associationsOf(batch: string, essays?: string): string {
  // Essay ids are compared as text: a malformed one in a teacher's request matches nothing instead of failing a cast.
  const which = essays === undefined ? '' : `AND a.essay_id::text IN (SELECT jsonb_array_elements_text(${essays}))`;
  // In essay order: the working set's order is the order of the lists an event emits (a timeout's
  // decisions, the confirmation's associations), so it must not depend on where rows sit on disk.
  // The audit's replay (app/replay.ts) restores in the same order.
  return `(SELECT coalesce(jsonb_agg(a.snapshot ORDER BY a.essay_id), '[]'::jsonb) FROM essay_student_associations a
    WHERE a.batch_id = ${batch} AND a.snapshot IS NOT NULL ${which})`;
}

/**
 * The snapshot, its owner, any earlier answer to this event id and the selected associations (with their roster), in one round trip.
 * Every event's first statement, so it is plain text (db/statement.ts), as the writers' are.
 */
export async function loadBatchActor(
  db: Db,
  batchId: string,
  eventId: string | null,
  forUpdate: boolean,
  associations?: AssociationSelection,
): Promise<LoadedActor | null> {
  const st = new Statement();
  const batch = st.param(batchId, 'uuid');
  const prior = (column: string) =>
    eventId === null ? 'NULL' : `(SELECT p.${column} FROM processed_events p WHERE p.event_id = ${st.param(eventId)})`;
  const [row] = await rowsOfText<LoadedActor>(
    db,
    `SELECT s.snapshot, s.version, s.machine_version, b.owner_id,
          ${prior('response')} AS prior_response,
          ${prior('fingerprint')} AS prior_fingerprint,
          ${selectedAssociations(st, associations)} AS associations,
          ${selectedRoster(st, associations)} AS roster
        FROM actor_snapshots s JOIN batches b ON b.batch_id = ${batch}
        WHERE s.actor_id = ${st.param(batchActorId(batchId))}
        ${forUpdate ? 'FOR UPDATE OF s' : ''}`,
    st.params,
  );
  return row ?? null;
}

/** The selected associations of the batch `b`: none, all, or those of some essays. */
function selectedAssociations(st: Statement, selection: AssociationSelection | undefined): string {
  if (selection === undefined) return 'NULL';
  return associationsOf('b.batch_id', selection === 'all' ? undefined : st.json(selection.essays));
}

/** The roster entries of the selected students and of the selected essays' suggestions, in the batch's class. */
function selectedRoster(st: Statement, selection: AssociationSelection | undefined): string {
  if (selection === undefined || selection === 'all') return 'NULL';
  return `(SELECT coalesce(jsonb_agg(jsonb_build_object('id', st.id, 'first_name', st.first_name, 'last_name', st.last_name, 'email', st.email)), '[]'::jsonb)
      FROM students st JOIN class_students m ON m.student_id = st.id AND m.class_id = b.class_id WHERE st.id::text IN (
        SELECT jsonb_array_elements_text(${st.json(selection.students ?? [])})
        UNION SELECT a.snapshot->>'suggested_student_id' FROM essay_student_associations a
          WHERE a.batch_id = b.batch_id AND a.essay_id::text IN (SELECT jsonb_array_elements_text(${st.json(selection.essays)}))))`;
}

/** Every association snapshot of a batch, for an event that turned out to need them all. */
export async function loadAllAssociations(db: Db, batchId: string): Promise<AssociationRecord[]> {
  const st = new Statement();
  const [row] = await rowsOfText<{ associations: AssociationRecord[] }>(
    db,
    `SELECT ${associationsOf(st.param(batchId, 'uuid'))} AS associations`,
    st.params,
  );
  return row?.associations ?? [];
}

export async function priorResponse(db: Db, eventId: string): Promise<{ response: unknown; fingerprint: string | null }> {
  const [row] = await rowsOfText<{ response: unknown; fingerprint: string | null }>(
    db,
    'SELECT response, fingerprint FROM processed_events WHERE event_id = $1',
    [eventId],
  );
  return { response: row?.response ?? null, fingerprint: row?.fingerprint ?? null };
}

/** A batch snapshot of an older machine version, with its projection's state, for the upgrade at start. */
export interface OlderBatchSnapshot {
  batch_id: string;
  snapshot: unknown;
  machine_version: number;
  version: number;
  state: string;
}

/** Every batch snapshot of `machineId` older than `machineVersion`. */
export async function olderBatchSnapshots(db: Db, machineId: string, machineVersion: number): Promise<OlderBatchSnapshot[]> {
  return rows<OlderBatchSnapshot>(
    db,
    sql`SELECT b.batch_id, s.snapshot, s.machine_version, s.version, b.state
        FROM actor_snapshots s JOIN batches b ON s.actor_id = 'batch:' || b.batch_id
        WHERE s.machine_id = ${machineId} AND s.machine_version < ${machineVersion}`,
  );
}
