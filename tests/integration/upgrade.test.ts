import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { upgradeBatchSnapshots } from '../../app/upgrade.ts';
import { rows } from '../../db/client.ts';
import { BATCH_MACHINE_VERSION } from '../../machines/batch.ts';
import { TOPICS } from '../../machines/events.ts';
import { committedCorpus } from '../../scripts/snapshot-corpus.ts';
import { outboxEvents, postEvent, provisionedClassBatch, registerBatch, suggested } from '../support/flow.ts';
import { type Harness, harnessForSuite } from '../support/harness.ts';
import { MODEL } from '../../model/fixture.ts';

/** A batch as a v1 process left it: its snapshot of the v1 corpus, machine_version 1, the v1 projection. */
async function plantV1(h: Harness, batchId: string, owner: string, state: string) {
  const fixture = committedCorpus().find((f) => f.machine_id === 'batch' && f.machine_version === 1 && f.state === state)!;
  const snapshot = JSON.parse(JSON.stringify(fixture.snapshot).replaceAll(MODEL.batchId, batchId).replaceAll(MODEL.ownerId, owner));
  await h.database.db.execute(sql`UPDATE actor_snapshots SET snapshot = ${JSON.stringify(snapshot)}::jsonb, machine_version = 1
    WHERE actor_id = ${`batch:${batchId}`}`);
  await h.database.db.execute(sql`UPDATE batches SET state = ${state}, status = ${state.split('.')[0]} WHERE batch_id = ${batchId}`);
}

describe('upgrading batches written by machine v1', () => {
  const h = harnessForSuite({ label: 'upgrade' });

  it('moves a v1 GUEST batch waiting in awaiting_pipeline_configuration to ready, projection and history included; its pipeline then starts', async () => {
    const teacher = await h.teacher('teacher-a');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 2 });
    await plantV1(h, batchId, 'teacher-a', 'awaiting_pipeline_configuration');
    const before = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    expect(before.body).toMatchObject({ state: 'awaiting_pipeline_configuration', version: 1 });

    expect(await upgradeBatchSnapshots(h.database.db, new Date().toISOString())).toBe(1);
    expect(await upgradeBatchSnapshots(h.database.db, new Date().toISOString())).toBe(0);
    const after = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    expect(after.body).toMatchObject({ state: 'ready_for_pipeline_execution', status: 'ready_for_pipeline_execution', version: 1 });
    const [row] = await rows<{ machine_version: number }>(
      h.database.db,
      sql`SELECT machine_version FROM actor_snapshots WHERE actor_id = ${`batch:${batchId}`}`,
    );
    expect(row!.machine_version).toBe(BATCH_MACHINE_VERSION);
    const history = await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
    expect(history.body.history.at(-1)).toMatchObject({
      event_type: 'SNAPSHOT_MIGRATED',
      from_state: 'awaiting_pipeline_configuration',
      to_state: 'ready_for_pipeline_execution',
    });

    const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
    expect(started.status).toBe(202);
    const [command] = (await outboxEvents(h, TOPICS.spellcheckCommand)).filter((e) => e.batch_id === batchId);
    expect(command!.envelope.data).toMatchObject({ entity_id: batchId, language: 'en' });
    expect(command!.envelope.data.essays_to_process.map((e: { text_storage_id: string }) => e.text_storage_id)).toEqual([
      'storage-a',
      'storage-b',
    ]);
  });

  it('restores a v1 snapshot nobody upgraded when its next event arrives', async () => {
    const teacher = await h.teacher('teacher-a');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 2 });
    await plantV1(h, batchId, 'teacher-a', 'awaiting_pipeline_configuration');
    const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'cj_assessment' } });
    expect(started.status).toBe(202);
    expect(started.body.state).toBe('ready_for_pipeline_execution');
  });

  it('fills the suggestions of association rows stored before v2 from their one stored suggestion (the SQL migration)', async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId, list } = await provisionedClassBatch(h, teacher, { students: 1, count: 2 });
    await postEvent(
      h,
      suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.8 }, { essay: list[1]! }]),
    );
    // As a v1 process wrote them: no filename, no suggestions.
    await h.database.db.execute(sql`UPDATE essay_student_associations SET filename = NULL, suggestions = NULL WHERE batch_id = ${batchId}`);
    const migration = readFileSync(new URL('../../drizzle/0003_wire_format.sql', import.meta.url), 'utf8');
    await h.database.db.execute(sql.raw(migration.split('--> statement-breakpoint').at(-1)!));
    const listed = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher });
    const byEssay = new Map((listed.body.associations as any[]).map((a) => [a.essay_id, a]));
    const s0 = klass.students[0]!;
    expect(byEssay.get(list[0]!.essay_id)).toMatchObject({
      filename: null,
      suggestions: [
        {
          student_id: s0.student_id,
          student_name: `${s0.first_name} ${s0.last_name}`,
          student_email: s0.email,
          confidence_score: 0.8,
          match_reasons: ['name in header'],
        },
      ],
    });
    expect(byEssay.get(list[1]!.essay_id)).toMatchObject({ filename: null, suggestions: [] });
  });
});
