import type { SnapshotFrom } from 'xstate';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';

export type BatchSnapshot = SnapshotFrom<typeof batchMachine>;

/**
 * Snapshot migrations, keyed by the machine version they upgrade FROM. A persisted snapshot is
 * restored only by the version that wrote it, or after passing through these in order.
 */
export const BATCH_SNAPSHOT_MIGRATIONS: Record<number, (snapshot: unknown) => unknown> = {};

export class SnapshotRestoreError extends Error {
  override name = 'SnapshotRestoreError';
}

export function migrateBatchSnapshot(snapshot: unknown, fromVersion: number): unknown {
  if (fromVersion > BATCH_MACHINE_VERSION) {
    throw new SnapshotRestoreError(
      `snapshot written by ${BATCH_MACHINE_ID} v${fromVersion}, newer than this code (v${BATCH_MACHINE_VERSION})`,
    );
  }
  let current = snapshot;
  for (let v = fromVersion; v < BATCH_MACHINE_VERSION; v++) {
    const step = BATCH_SNAPSHOT_MIGRATIONS[v];
    if (!step) throw new SnapshotRestoreError(`no snapshot migration from ${BATCH_MACHINE_ID} v${v} to v${v + 1}`);
    current = step(current);
  }
  return current;
}

/** Restores a persisted batch snapshot; an unknown state is a clear error, never a silent reset. */
export function restoreBatchSnapshot(row: { snapshot: unknown; machine_version: number }): BatchSnapshot {
  const persisted = migrateBatchSnapshot(row.snapshot, row.machine_version);
  try {
    return batchMachine.resolveState(persisted as Parameters<typeof batchMachine.resolveState>[0]);
  } catch (error) {
    throw new SnapshotRestoreError(`cannot restore ${BATCH_MACHINE_ID} v${row.machine_version} snapshot: ${(error as Error).message}`);
  }
}
