import { type SQL, sql } from 'drizzle-orm';
import type { AssociationRecord } from '../machines/association.ts';
import { type Db, rows } from './client.ts';
import { type AssociationSelection, type LoadedActor, batchActorId } from './transition-types.ts';

/** The read side of a transition: a batch actor with what its event needs, in one round trip. */

export function associationsOf(batchId: SQL, selection: AssociationSelection | undefined): SQL {
  if (selection === undefined) return sql`NULL`;
  // Essay ids are compared as text: a malformed one in a teacher's request matches nothing instead of failing a cast.
  const which =
    selection === 'all'
      ? sql``
      : sql`AND a.essay_id::text IN (SELECT jsonb_array_elements_text(${JSON.stringify(selection.essays)}::jsonb))`;
  // In essay order: the working set's order is the order of the lists an event emits (a timeout's
  // decisions, the confirmation's associations), so it must not depend on where rows sit on disk.
  // The audit's replay (app/replay.ts) restores in the same order.
  return sql`(SELECT coalesce(jsonb_agg(a.snapshot ORDER BY a.essay_id), '[]'::jsonb) FROM association_snapshots a WHERE a.batch_id = ${batchId} ${which})`;
}

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
