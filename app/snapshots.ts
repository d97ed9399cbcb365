import type { SnapshotFrom } from 'xstate';
import {
  ASSOCIATION_MACHINE_ID,
  ASSOCIATION_MACHINE_VERSION,
  type AssociationRecord,
  associationMachine,
} from '../machines/association.ts';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, batchMachine } from '../machines/batch.ts';
import { countsOf } from '../machines/batch-rules.ts';
import type { RequestedPipeline } from '../machines/events.ts';
import { PIPELINE_PHASES, dispatched } from '../machines/pipelines.ts';

export type BatchSnapshot = SnapshotFrom<typeof batchMachine>;
export type AssociationSnapshot = SnapshotFrom<typeof associationMachine>;

/**
 * Snapshot migrations, keyed by the machine version they upgrade FROM. A persisted snapshot is
 * restored only by the version that wrote it, or after passing through these in order.
 */
export const BATCH_SNAPSHOT_MIGRATIONS: Record<number, (snapshot: unknown) => unknown> = {
  1: fromV1,
  2: fromV2,
  3: fromV3,
  4: fromV4,
};

interface V1Association {
  suggested_student_id: string | null;
  confidence_score: number | null;
  match_reasons: string[] | null;
  [field: string]: unknown;
}
interface V1Snapshot {
  value: unknown;
  context: { associations: Record<string, V1Association>; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * v1 → v2. A GUEST batch waiting in awaiting_pipeline_configuration is ready (the real orchestrator
 * never sends what it waited for); processing_pipelines is ready with its pipeline kept (v2 stays
 * ready while pipelines run). New context fields start empty; each association keeps its one stored
 * suggestion as the list of suggestions (the matcher's name for the student was not kept in v1),
 * and no filename.
 */
export function fromV1(snapshot: unknown): unknown {
  const v1 = snapshot as V1Snapshot;
  const value =
    v1.value === 'awaiting_pipeline_configuration' || v1.value === 'processing_pipelines' ? 'ready_for_pipeline_execution' : v1.value;
  const associations = Object.fromEntries(
    Object.entries(v1.context.associations).map(([essayId, a]) => [
      essayId,
      {
        ...a,
        filename: null,
        suggestions:
          a.suggested_student_id === null
            ? []
            : [
                {
                  student_id: a.suggested_student_id,
                  student_name: '',
                  student_email: null,
                  confidence_score: a.confidence_score ?? 0,
                  match_reasons: a.match_reasons ?? [],
                },
              ],
      },
    ]),
  );
  return {
    ...v1,
    value,
    context: { ...v1.context, associations, prompt_payload: null, student_prompt_ref: null, validation_errors: 0 },
  };
}

/**
 * v2 → v3. The counts come from the records; the records stay in the restored context as the
 * working set (a v2 snapshot holds all of them), and the first v3 write of the batch stores them
 * as their own rows (`PlanInput.storeEveryAssociation`, app/upgrade.ts at start).
 */
export function fromV2(snapshot: unknown): unknown {
  const v2 = snapshot as {
    context: { associations: Record<string, AssociationRecord>; [field: string]: unknown };
    [field: string]: unknown;
  };
  return { ...v2, context: { ...v2.context, association_counts: countsOf(v2.context.associations) } };
}

/**
 * v3 → v4. Registration extras were not kept before v4 (null). A v3 batch that took a pipeline
 * request had its spellcheck command sent and no outcome recorded: its pipeline state says exactly
 * that (spellcheck dispatched, the rest of the pipeline waiting), so a repeated request is skipped
 * until the spellcheck outcome arrives.
 */
export function fromV3(snapshot: unknown): unknown {
  const v3 = snapshot as { context: { pipeline: string | null; [field: string]: unknown }; [field: string]: unknown };
  const pipeline = v3.context.pipeline;
  // v1 named pipelines the real conductor does not know; every pipeline starts with spellcheck.
  const phases =
    pipeline === null
      ? []
      : Object.hasOwn(PIPELINE_PHASES, pipeline)
        ? [...PIPELINE_PHASES[pipeline as RequestedPipeline]]
        : ['spellcheck' as const];
  return {
    ...v3,
    context: {
      ...v3.context,
      org_id: null,
      assignment_id: null,
      cj_default_llm_model: null,
      cj_default_temperature: null,
      pipeline_state: pipeline === null ? null : dispatched(null, phases, null),
      skipped_pipeline_requests: 0,
      denied_pipeline_requests: 0,
    },
  };
}

/** v4 → v5. Nothing could be paused before v5: every v4 deadline is running (`pause: null`). */
export function fromV4(snapshot: unknown): unknown {
  const v4 = snapshot as { context: Record<string, unknown>; [field: string]: unknown };
  return { ...v4, context: { ...v4.context, pause: null } };
}

/** The first machine version whose association records are rows of their own. */
export const ASSOCIATION_ROWS_SINCE = 3;

export class SnapshotRestoreError extends Error {
  override name = 'SnapshotRestoreError';
}

type Migrations = Record<number, (snapshot: unknown) => unknown>;

/** Passes a snapshot written by `fromVersion` through each registered step up to the current version. */
function migrate(machineId: string, current: number, migrations: Migrations, snapshot: unknown, fromVersion: number): unknown {
  if (fromVersion > current) {
    throw new SnapshotRestoreError(`snapshot written by ${machineId} v${fromVersion}, newer than this code (v${current})`);
  }
  let migrated = snapshot;
  for (let v = fromVersion; v < current; v++) {
    const step = migrations[v];
    if (!step) throw new SnapshotRestoreError(`no snapshot migration from ${machineId} v${v} to v${v + 1}`);
    migrated = step(migrated);
  }
  return migrated;
}

export function migrateBatchSnapshot(snapshot: unknown, fromVersion: number): unknown {
  return migrate(BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, BATCH_SNAPSHOT_MIGRATIONS, snapshot, fromVersion);
}

/**
 * Association snapshot migrations, keyed by the version they upgrade FROM. The service stores an
 * association as its record (context and `validation_status`), which v2 reads unchanged. A
 * persisted machine snapshot (the corpus, the Stately editor) also carries xstate's `status`:
 * v1's teacher decisions were final (`done`); in v2 they are `active`, since REOPEN leaves them.
 * v2's decisions of the deadline (`timeout_confirmed`, `no_match`) were final; in v3 they are
 * `active`, since CORRECT leaves them. The records themselves read unchanged.
 */
export const ASSOCIATION_SNAPSHOT_MIGRATIONS: Migrations = {
  1: (snapshot) => {
    const v1 = snapshot as { value: unknown; status?: string };
    return v1.value === 'confirmed' || v1.value === 'rejected' ? { ...v1, status: 'active' } : v1;
  },
  2: (snapshot) => {
    const v2 = snapshot as { value: unknown; status?: string };
    return v2.value === 'timeout_confirmed' || v2.value === 'no_match' ? { ...v2, status: 'active' } : v2;
  },
};

/** Restores a persisted association snapshot of any released version with the current machine. */
export function restoreAssociationSnapshot(snapshot: unknown, fromVersion: number): AssociationSnapshot {
  const migrated = migrate(ASSOCIATION_MACHINE_ID, ASSOCIATION_MACHINE_VERSION, ASSOCIATION_SNAPSHOT_MIGRATIONS, snapshot, fromVersion);
  try {
    return associationMachine.resolveState(migrated as Parameters<typeof associationMachine.resolveState>[0]);
  } catch (error) {
    throw new SnapshotRestoreError(`cannot restore ${ASSOCIATION_MACHINE_ID} v${fromVersion} snapshot: ${(error as Error).message}`);
  }
}

export interface StoredBatch {
  snapshot: unknown;
  machine_version: number;
  /** The association records loaded for this event (rows of their own since v3). */
  associations?: AssociationRecord[] | null;
}

/** A stored batch snapshot migrated to the current machine version, not yet restored. */
export interface MigratedBatch {
  persisted: { context: Record<string, unknown> };
  machine_version: number;
}

export function migrateStoredBatch(row: StoredBatch): MigratedBatch {
  return {
    persisted: migrateBatchSnapshot(row.snapshot, row.machine_version) as MigratedBatch['persisted'],
    machine_version: row.machine_version,
  };
}

/**
 * Restores a migrated batch snapshot with `associations` as its working set; an unknown state is a
 * clear error, never a silent reset.
 */
export function resolveBatch({ persisted, machine_version }: MigratedBatch, associations?: AssociationRecord[] | null): BatchSnapshot {
  const withRecords =
    associations && associations.length > 0
      ? { ...persisted, context: { ...persisted.context, associations: Object.fromEntries(associations.map((a) => [a.essay_id, a])) } }
      : persisted;
  try {
    return batchMachine.resolveState(withRecords as Parameters<typeof batchMachine.resolveState>[0]);
  } catch (error) {
    throw new SnapshotRestoreError(`cannot restore ${BATCH_MACHINE_ID} v${machine_version} snapshot: ${(error as Error).message}`);
  }
}

/** Restores a persisted batch snapshot with the association records loaded for the event as its working set. */
export function restoreBatchSnapshot(row: StoredBatch): BatchSnapshot {
  return resolveBatch(migrateStoredBatch(row), row.associations);
}
