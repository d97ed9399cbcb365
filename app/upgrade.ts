import { ASSOCIATION_MACHINE_VERSION } from '../machines/association.ts';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION } from '../machines/batch.ts';
import { persistedBatchSnapshot } from '../machines/persisted.ts';
import { batchStatusOf, stateString } from '../machines/describe.ts';
import { olderBatchSnapshots } from '../db/actor-load.ts';
import type { Db } from '../db/client.ts';
import { writeSnapshotUpgrade } from '../db/transition-writers.ts';
import { ASSOCIATION_ROWS_SINCE, restoreBatchSnapshot } from './snapshots.ts';

/**
 * Rewrites every batch snapshot of an older machine version through the migrations, with its
 * projection row, at start. Restoring migrates lazily anyway; doing it eagerly keeps what
 * `GET /v1/batches` shows true for batches nobody touches (a v1 GUEST batch waiting in
 * awaiting_pipeline_configuration is listed as ready at once). The row version is kept: no event
 * was applied, and a writer racing this one writes the same migrated snapshot. A state change is
 * recorded in the history as `SNAPSHOT_MIGRATED`. A snapshot from before v3 holds its association
 * records; they move to their own rows in the same statement (db/transition-writers.ts).
 */
export async function upgradeBatchSnapshots(db: Db, at: string): Promise<number> {
  const old = await olderBatchSnapshots(db, BATCH_MACHINE_ID, BATCH_MACHINE_VERSION);
  let upgraded = 0;
  for (const row of old) {
    const restored = restoreBatchSnapshot(row);
    const state = stateString(restored.value);
    const written = await writeSnapshotUpgrade(db, {
      batchId: row.batch_id,
      expectedVersion: row.version,
      fromMachineVersion: row.machine_version,
      machineVersion: BATCH_MACHINE_VERSION,
      snapshot: persistedBatchSnapshot(restored),
      status: batchStatusOf(restored.value),
      state,
      history:
        row.state === state
          ? null
          : {
              at,
              event_type: 'SNAPSHOT_MIGRATED',
              event_id: null,
              actor: 'system',
              from_state: row.state,
              to_state: state,
              correlation_id: null,
              outcome: 'applied',
              reason: `batch machine v${row.machine_version} → v${BATCH_MACHINE_VERSION}`,
            },
      associationSnapshots: row.machine_version < ASSOCIATION_ROWS_SINCE ? Object.values(restored.context.associations) : [],
      associationMachineVersion: ASSOCIATION_MACHINE_VERSION,
    });
    if (written) upgraded++;
  }
  return upgraded;
}
