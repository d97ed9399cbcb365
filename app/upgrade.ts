import { sql } from 'drizzle-orm';
import { ASSOCIATION_MACHINE_VERSION } from '../machines/association.ts';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION } from '../machines/batch.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { batchStatusOf, stateString } from '../machines/describe.ts';
import { type Db, rows } from '../db/client.ts';
import { ASSOCIATION_SNAPSHOT_COLUMNS, associationSnapshotRows, associationSnapshotsUpsert } from '../db/transitions.ts';
import { ASSOCIATION_ROWS_SINCE, restoreBatchSnapshot } from './snapshots.ts';

/**
 * Rewrites every batch snapshot of an older machine version through the migrations, with its
 * projection row, at start. Restoring migrates lazily anyway; doing it eagerly keeps what
 * `GET /v1/batches` shows true for batches nobody touches (a v1 GUEST batch waiting in
 * awaiting_pipeline_configuration is listed as ready at once). The row version is kept: no event
 * was applied, and a writer racing this one writes the same migrated snapshot. A state change is
 * recorded in the history as `SNAPSHOT_MIGRATED`. A snapshot from before v3 holds its association
 * records; they move to their own rows in the same statement.
 */
export async function upgradeBatchSnapshots(db: Db, at: string): Promise<number> {
  const old = await rows<{
    actor_id: string;
    batch_id: string;
    snapshot: unknown;
    machine_version: number;
    version: number;
    state: string;
  }>(
    db,
    sql`SELECT s.actor_id, b.batch_id, s.snapshot, s.machine_version, s.version, b.state
        FROM actor_snapshots s JOIN batches b ON s.actor_id = 'batch:' || b.batch_id
        WHERE s.machine_id = ${BATCH_MACHINE_ID} AND s.machine_version < ${BATCH_MACHINE_VERSION}`,
  );
  let upgraded = 0;
  for (const row of old) {
    const restored = restoreBatchSnapshot(row);
    const state = stateString(restored.value);
    const records = row.machine_version < ASSOCIATION_ROWS_SINCE ? Object.values(restored.context.associations) : [];
    const done = await rows<{ ok: number }>(
      db,
      sql`WITH snap AS (
          UPDATE actor_snapshots SET snapshot = ${JSON.stringify(persistedBatchSnapshot(restored))}::jsonb,
            machine_version = ${BATCH_MACHINE_VERSION}, updated_at = now()
          WHERE actor_id = ${row.actor_id} AND version = ${row.version} AND machine_version = ${row.machine_version}
          RETURNING version),
        proj AS (
          UPDATE batches SET state = ${state}, status = ${batchStatusOf(restored.value)}, updated_at = now()
          FROM snap WHERE batch_id = ${row.batch_id}),
        hist AS (
          INSERT INTO history (batch_id, at, event_type, actor, from_state, to_state, outcome, reason, version)
          SELECT ${row.batch_id}, ${at}::timestamptz, 'SNAPSHOT_MIGRATED', 'system', ${row.state}, ${state}, 'applied',
            ${`batch machine v${row.machine_version} → v${BATCH_MACHINE_VERSION}`}, snap.version
          FROM snap WHERE ${row.state} <> ${state})
        ${records.length > 0 ? sql`, assoc AS (${associationSnapshotsUpsert(sql`snap, jsonb_to_recordset(${JSON.stringify(associationSnapshotRows(row.batch_id, ASSOCIATION_MACHINE_VERSION, records))}::jsonb) AS r(${ASSOCIATION_SNAPSHOT_COLUMNS})`)})` : sql``}
        SELECT 1 AS ok FROM snap`,
    );
    upgraded += done.length;
  }
  return upgraded;
}
