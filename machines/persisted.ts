import type { SnapshotFrom } from 'xstate';
import { batchMachine } from './batch.ts';

/**
 * What a batch snapshot persists: all of it but the working set of association records, which
 * persist in their own rows from v3 on (essay_student_associations.snapshot). The application layer and the
 * snapshot corpus both write this, so fixtures hold what production holds.
 */
export function persistedBatchSnapshot(snapshot: SnapshotFrom<typeof batchMachine>) {
  return batchMachine.getPersistedSnapshot({ ...snapshot, context: { ...snapshot.context, associations: {} } } as typeof snapshot);
}
