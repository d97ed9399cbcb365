import { describe, expect, it } from 'vitest';
import { ASSOCIATION_SNAPSHOT_MIGRATIONS, BATCH_SNAPSHOT_MIGRATIONS } from '../../app/snapshots.ts';
import { ASSOCIATION_MACHINE_ID, ASSOCIATION_MACHINE_VERSION } from '../../machines/association.ts';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION } from '../../machines/batch.ts';
import { committedShape, contextKeys, shapeFile, shapeVersions } from '../../scripts/machine-shapes.ts';
import { committedCorpus, currentShapes } from '../../scripts/snapshot-corpus.ts';

/**
 * Released machine versions are frozen: the committed shape of each version (its state names and
 * context keys, tests/fixtures/machine-shapes/<machine>.v<n>.json) must match the machine while it
 * carries that version number, and every older version must have a migration to the current one.
 */
const shapes = currentShapes();
const MIGRATIONS: Record<string, Record<number, unknown> | null> = {
  [BATCH_MACHINE_ID]: BATCH_SNAPSHOT_MIGRATIONS,
  [ASSOCIATION_MACHINE_ID]: ASSOCIATION_SNAPSHOT_MIGRATIONS,
};
const CURRENT: Record<string, number> = {
  [BATCH_MACHINE_ID]: BATCH_MACHINE_VERSION,
  [ASSOCIATION_MACHINE_ID]: ASSOCIATION_MACHINE_VERSION,
};

describe('machine shapes of released versions', () => {
  for (const shape of shapes) {
    const name = `${shape.machine_id} v${shape.machine_version}`;

    it(`${name}: states and context keys match the committed shape (else bump the version and add a migration)`, () => {
      const committed = committedShape(shape.machine_id, shape.machine_version);
      expect(committed, `${shapeFile(shape.machine_id, shape.machine_version)} is missing; run npm run snapshots:corpus`).not.toBeNull();
      const bump =
        `${name} changed its states or context keys without a version bump. Snapshots of v${shape.machine_version} ` +
        'in production would no longer restore: bump the machine version, register a migration from ' +
        `v${shape.machine_version}, and run npm run snapshots:corpus (it writes the new version's shape).`;
      expect(shape.states, bump).toEqual(committed!.states);
      expect(shape.context_keys, bump).toEqual(committed!.context_keys);
    });

    it(`${name}: every older version with a committed shape or corpus has a migration step`, () => {
      const corpusVersions = committedCorpus()
        .filter((f) => f.machine_id === shape.machine_id)
        .map((f) => f.machine_version);
      const older = [...new Set([...shapeVersions(shape.machine_id), ...corpusVersions])].filter((v) => v < CURRENT[shape.machine_id]!);
      const registry = MIGRATIONS[shape.machine_id];
      for (const v of older) {
        expect(registry?.[v], `${shape.machine_id} v${v} is released but has no migration to v${v + 1}`).toBeTypeOf('function');
        expect(committedShape(shape.machine_id, v), `${shape.machine_id} v${v} has fixtures but no committed shape`).not.toBeNull();
      }
    });
  }

  it('reads nested context keys, collapsing id-keyed maps and arrays', () => {
    const keys = contextKeys([
      { deadline: null, associations: {} },
      { deadline: { due_at: 'x' }, essays: [{ essay_id: 'e' }], associations: { 'id-1': { student_id: 's' } } },
    ]);
    expect(keys).toEqual([
      'associations',
      'associations.*',
      'associations.*.student_id',
      'deadline',
      'deadline.due_at',
      'essays',
      'essays[].essay_id',
    ]);
  });
});
