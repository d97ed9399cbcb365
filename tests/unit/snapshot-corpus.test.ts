import { type AnyMachineSnapshot, type AnyStateMachine, type EventObject, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  ASSOCIATION_SNAPSHOT_MIGRATIONS,
  BATCH_SNAPSHOT_MIGRATIONS,
  SnapshotRestoreError,
  migrateBatchSnapshot,
  restoreAssociationSnapshot,
  restoreBatchSnapshot,
} from '../../app/snapshots.ts';
import { ASSOCIATION_MACHINE_ID, ASSOCIATION_MACHINE_VERSION, associationMachine } from '../../machines/association.ts';
import { BATCH_MACHINE_ID, BATCH_MACHINE_VERSION, batchMachine } from '../../machines/batch.ts';
import { eventsAcceptedIn, stateString } from '../../machines/describe.ts';
import { committedCorpus, currentCorpus } from '../../scripts/snapshot-corpus.ts';
import { type BatchSnapshot, associationSamples, batchSamples } from '../../model/fixture.ts';
import type { Sample } from '../../model/paths.ts';

const corpus = committedCorpus();
const V = BATCH_MACHINE_VERSION;

/** A restored snapshot must still work: it takes an event its state accepts, or refuses all if it accepts none. */
function expectStillSteps<E extends EventObject>(machine: AnyStateMachine, restored: AnyMachineSnapshot, samples: Array<Sample<E>>) {
  const taken = samples.find((s) => transition(machine, restored, s.event)[0] !== restored);
  if (eventsAcceptedIn(restored).length === 0) {
    expect(taken, 'a state without transitions took an event').toBeUndefined();
    return null;
  }
  expect(taken, `no sample passes a guard in ${stateString(restored.value)}`).toBeDefined();
  const [next] = transition(machine, restored, taken!.event);
  return next;
}

describe('snapshot corpus', () => {
  it('holds fixtures of the batch and the association machine', () => {
    expect(corpus.filter((f) => f.machine_id === BATCH_MACHINE_ID).length).toBeGreaterThan(0);
    expect(corpus.filter((f) => f.machine_id === ASSOCIATION_MACHINE_ID).length).toBeGreaterThan(0);
  });

  it('has a fixture for every reachable state of the current machine versions (npm run snapshots:corpus)', () => {
    const current = (f: { machine_id: string; machine_version: number }) =>
      f.machine_version === (f.machine_id === BATCH_MACHINE_ID ? BATCH_MACHINE_VERSION : ASSOCIATION_MACHINE_VERSION);
    const names = (list: Array<{ machine_id: string; machine_version: number; state: string }>) =>
      list
        .filter(current)
        .map((f) => `${f.machine_id}/v${f.machine_version}/${f.state}`)
        .sort();
    expect(names(corpus)).toEqual(names(currentCorpus()));
  });

  for (const f of corpus.filter((f) => f.machine_id === BATCH_MACHINE_ID)) {
    it(`restores batch v${f.machine_version} ${f.state} with the current machine, and it still steps`, () => {
      const restored = restoreBatchSnapshot({ snapshot: f.snapshot, machine_version: f.machine_version });
      if (f.machine_version === V) expect(stateString(restored.value)).toBe(f.state);
      const next = expectStillSteps(batchMachine, restored, batchSamples(restored));
      if (next) {
        const again = restoreBatchSnapshot({ snapshot: batchMachine.getPersistedSnapshot(next), machine_version: V });
        expect(again.value).toEqual(next.value);
      }
    });
  }

  for (const f of corpus.filter((f) => f.machine_id === ASSOCIATION_MACHINE_ID)) {
    it(`restores association v${f.machine_version} ${f.state} with the current machine, and it still steps`, () => {
      const restored = restoreAssociationSnapshot(f.snapshot, f.machine_version);
      expect(stateString(restored.value)).toBe(f.state);
      expectStillSteps(associationMachine, restored, associationSamples());
    });
  }
});

describe('association snapshot migration v1 → v2', () => {
  const v1 = (state: string) =>
    corpus.find((f) => f.machine_id === ASSOCIATION_MACHINE_ID && f.machine_version === 1 && f.state === state)!;

  it("lets a teacher's v1 decision be reopened: confirmed and rejected are no longer final", () => {
    for (const state of ['confirmed', 'rejected']) {
      expect((v1(state).snapshot as { status: string }).status, `the v1 fixture of ${state}`).toBe('done');
      const restored = restoreAssociationSnapshot(v1(state).snapshot, 1);
      expect(restored.status).toBe('active');
      const [next] = transition(associationMachine, restored, { type: 'REOPEN', at: '2025-03-01T09:00:00.000Z', by: 'teacher-1' });
      expect(next.value, state).toBe('pending_validation');
      expect(next.context).toMatchObject({ student_id: next.context.suggested_student_id, validation_method: null, validated_by: null });
    }
  });

  it("keeps the deadline's decisions final in v2", () => {
    for (const state of ['timeout_confirmed', 'no_match']) {
      const migrated = ASSOCIATION_SNAPSHOT_MIGRATIONS[1]!(v1(state).snapshot) as { status: string };
      expect(migrated.status, state).toBe('done');
    }
  });

  it('refuses a snapshot from a newer association machine', () => {
    expect(() => restoreAssociationSnapshot(v1('confirmed').snapshot, ASSOCIATION_MACHINE_VERSION + 1)).toThrow(
      `snapshot written by association v${ASSOCIATION_MACHINE_VERSION + 1}, newer than this code (v${ASSOCIATION_MACHINE_VERSION})`,
    );
  });
});

describe('association snapshot migration v2 → v3', () => {
  const released = (version: number, state: string) =>
    corpus.find((f) => f.machine_id === ASSOCIATION_MACHINE_ID && f.machine_version === version && f.state === state)!;
  const correct = {
    type: 'CORRECT',
    at: '2025-03-05T09:00:00.000Z',
    by: 'teacher-1',
    student_id: 'student-real',
    student_in_class: true,
  } as const;

  it("lets the deadline's released decisions be corrected: timeout_confirmed and no_match are no longer final", () => {
    for (const version of [1, 2]) {
      for (const state of ['timeout_confirmed', 'no_match']) {
        expect((released(version, state).snapshot as { status: string }).status, `the v${version} fixture of ${state}`).toBe('done');
        const restored = restoreAssociationSnapshot(released(version, state).snapshot, version);
        expect(restored.status, `v${version} ${state}`).toBe('active');
        const [next] = transition(associationMachine, restored, correct);
        expect(next.value, `v${version} ${state}`).toBe('confirmed');
        expect(next.context).toMatchObject({ student_id: 'student-real', validation_method: 'human', validated_by: 'teacher-1' });
      }
    }
  });

  it('leaves the released v2 teacher decisions as they were, and they take a correction too', () => {
    for (const state of ['confirmed', 'rejected', 'pending_validation']) {
      const snapshot = released(2, state).snapshot;
      expect(ASSOCIATION_SNAPSHOT_MIGRATIONS[2]!(snapshot), state).toEqual(snapshot);
    }
    const [next] = transition(associationMachine, restoreAssociationSnapshot(released(2, 'rejected').snapshot, 2), correct);
    expect(next.value).toBe('confirmed');
  });
});

describe('batch snapshot migrations', () => {
  const waiting = corpus.find(
    (f) => f.machine_id === BATCH_MACHINE_ID && f.machine_version === V && f.state === 'awaiting_student_validation.awaiting_teacher',
  )!;
  const persisted = waiting.snapshot as { value: unknown; context: Record<string, unknown> };

  /** A made-up previous version: the state was called awaiting_teacher_validation and no deadline_version was kept. */
  const previousShape = () => {
    const { deadline_version: _dropped, ...context } = persisted.context;
    return { ...persisted, value: { awaiting_student_validation: 'awaiting_teacher_validation' }, context };
  };
  const fromPreviousShape = (snapshot: unknown) => {
    const old = snapshot as { context: { deadline: { version: number } | null } };
    return {
      ...old,
      value: { awaiting_student_validation: 'awaiting_teacher' },
      context: { ...old.context, deadline_version: old.context.deadline?.version ?? 0 },
    };
  };

  function withMigration<T>(from: number, step: ((s: unknown) => unknown) | undefined, body: () => T): T {
    const saved = BATCH_SNAPSHOT_MIGRATIONS[from];
    if (step) BATCH_SNAPSHOT_MIGRATIONS[from] = step;
    else delete BATCH_SNAPSHOT_MIGRATIONS[from];
    try {
      return body();
    } finally {
      if (saved) BATCH_SNAPSHOT_MIGRATIONS[from] = saved;
      else delete BATCH_SNAPSHOT_MIGRATIONS[from];
    }
  }

  it('refuses a snapshot written by a newer machine version, naming both versions', () => {
    const restore = () => restoreBatchSnapshot({ snapshot: persisted, machine_version: V + 1 });
    expect(restore).toThrow(SnapshotRestoreError);
    expect(restore).toThrow(`snapshot written by batch v${V + 1}, newer than this code (v${V})`);
  });

  it('refuses an older snapshot when the migration step from its version is missing', () => {
    withMigration(V - 1, undefined, () => {
      expect(() => migrateBatchSnapshot(previousShape(), V - 1)).toThrow(SnapshotRestoreError);
      expect(() => migrateBatchSnapshot(previousShape(), V - 1)).toThrow(`no snapshot migration from batch v${V - 1} to v${V}`);
    });
  });

  it('refuses a snapshot whose state the machine does not have, instead of resetting it', () => {
    const restore = () => restoreBatchSnapshot({ snapshot: previousShape(), machine_version: V });
    expect(restore).toThrow(SnapshotRestoreError);
    expect(restore).toThrow(`cannot restore batch v${V} snapshot`);
  });

  it('applies a registered migration before restoring, and the migrated snapshot takes the deadline', () => {
    // Since v3 the records are rows of their own; a timeout loads them all with the snapshot.
    const v2 = corpus.find((f) => f.machine_id === BATCH_MACHINE_ID && f.machine_version === 2 && f.state === waiting.state)!;
    const records = Object.values(restoreBatchSnapshot({ snapshot: v2.snapshot, machine_version: 2 }).context.associations);
    const restored = withMigration(V - 1, fromPreviousShape, () =>
      restoreBatchSnapshot({ snapshot: previousShape(), machine_version: V - 1, associations: records }),
    );
    expect(stateString(restored.value)).toBe('awaiting_student_validation.awaiting_teacher');
    expect(restored.context.deadline_version).toBe(1);
    const timeout = batchSamples(restored).find((s) => s.label === 'deadline passes')!;
    const [next] = transition(batchMachine, restored as BatchSnapshot, timeout.event);
    expect(stateString(next.value)).toBe('student_validation_completed');
    expect(Object.values(next.context.associations).map((a) => a.validation_status)).toEqual(['timeout_confirmed', 'no_match']);
  });
});

describe('batch snapshot migration v1 → v2', () => {
  const v1 = (state: string) => {
    const found = corpus.find((f) => f.machine_id === BATCH_MACHINE_ID && f.machine_version === 1 && f.state === state);
    if (!found) throw new Error(`no v1 fixture of ${state}`);
    return found.snapshot;
  };
  const restoreV1 = (state: string) => restoreBatchSnapshot({ snapshot: v1(state), machine_version: 1 });
  const labelled = (snapshot: BatchSnapshot, label: string) => batchSamples(snapshot).find((s) => s.label === label)!.event;

  it('moves a GUEST batch waiting in awaiting_pipeline_configuration to ready, where its pipeline starts', () => {
    const restored = restoreV1('awaiting_pipeline_configuration');
    expect(restored.context.class_type).toBe('GUEST');
    expect(stateString(restored.value)).toBe('ready_for_pipeline_execution');
    const [next, actions] = transition(batchMachine, restored, labelled(restored, 'request pipeline'));
    expect(next).not.toBe(restored);
    const emitted = (actions as Array<{ type: string; params?: { event: { type: string } } }>).filter((a) => a.type === 'xstate.emit');
    expect(emitted.map((a) => a.params!.event.type)).toEqual([
      'huleedu.els.spellcheck.initiate.command.v1',
      'huleedu.notification.teacher.requested.v1',
    ]);
  });

  it('moves a batch in processing_pipelines to ready with its pipeline kept, so it can no longer be cancelled', () => {
    const restored = restoreV1('processing_pipelines');
    expect(stateString(restored.value)).toBe('ready_for_pipeline_execution');
    expect(restored.context.pipeline).not.toBeNull();
    expect(transition(batchMachine, restored, labelled(restored, 'cancel'))[0]).toBe(restored);
  });

  it('turns the one stored suggestion into the list of suggestions, without a filename, and starts the new fields empty', () => {
    const restored = restoreV1('awaiting_student_validation.awaiting_teacher');
    const before = (v1('awaiting_student_validation.awaiting_teacher') as BatchSnapshot).context;
    for (const [essayId, a] of Object.entries(restored.context.associations)) {
      const old = before.associations[essayId]!;
      expect(a.filename).toBeNull();
      expect(a.suggestions).toEqual(
        old.suggested_student_id === null
          ? []
          : [
              {
                student_id: old.suggested_student_id,
                student_name: '',
                student_email: null,
                confidence_score: old.confidence_score,
                match_reasons: old.match_reasons,
              },
            ],
      );
    }
    expect(restored.context).toMatchObject({ prompt_payload: null, student_prompt_ref: null, validation_errors: 0 });
  });

  it('keeps every other v1 state as it was', () => {
    for (const f of corpus.filter((f) => f.machine_id === BATCH_MACHINE_ID && f.machine_version === 1)) {
      if (f.state === 'awaiting_pipeline_configuration' || f.state === 'processing_pipelines') continue;
      expect(stateString(restoreV1(f.state).value), f.state).toBe(f.state);
    }
  });
});

describe('batch snapshot migration v4 → v5', () => {
  const v4 = corpus.filter((f) => f.machine_id === BATCH_MACHINE_ID && f.machine_version === 4);
  const teacher = v4.find((f) => f.state === 'awaiting_student_validation.awaiting_teacher')!;

  it('has a step registered from v4', () => {
    expect(BATCH_SNAPSHOT_MIGRATIONS[4]).toBeDefined();
  });

  it('restores every released v4 batch as not paused', () => {
    expect(v4.length).toBeGreaterThan(0);
    for (const f of v4) {
      const restored = restoreBatchSnapshot({ snapshot: f.snapshot, machine_version: 4 });
      expect(restored.context.pause, f.state).toBeNull();
      expect(stateString(restored.value), f.state).toBe(f.state);
    }
  });

  it("lets a released v4 batch's running deadline be paused and resumed, and refuses its timer meanwhile", () => {
    const restored = restoreBatchSnapshot({ snapshot: teacher.snapshot, machine_version: 4 });
    const deadline = restored.context.deadline!;
    const at = new Date(Date.parse(deadline.due_at) - 3_600_000).toISOString();
    const [paused] = transition(batchMachine, restored, { type: 'VALIDATION_PAUSED', at, by: 'teacher', until: null, reason: null });
    expect(paused.context.pause).toMatchObject({ remaining_ms: 3_600_000, paused_due_at: deadline.due_at });
    const timeout = {
      type: 'VALIDATION_TIMEOUT',
      at: deadline.due_at,
      deadline_version: deadline.version,
      unknown_student_id: '',
      students: {},
    };
    expect(transition(batchMachine, paused, timeout as never)[0]).toBe(paused);
    const [resumed] = transition(batchMachine, paused, {
      type: 'VALIDATION_RESUMED',
      at: deadline.due_at,
      by: 'teacher',
      deadline_version: null,
    });
    expect(resumed.context.deadline).toEqual({
      due_at: new Date(Date.parse(deadline.due_at) + 3_600_000).toISOString(),
      version: deadline.version + 1,
    });
  });
});
