import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { registerBatch } from '../../app/batches.ts';
import { openDatabase, rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { confirmAssociations, postEvent, provisionedClassBatch, suggested } from '../support/flow.ts';
import { type Harness, harnessForSuite } from '../support/harness.ts';
import { regularFlow } from '../support/scenarios.ts';

/**
 * The verifiable audit (app/audit.ts): a batch driven through the real API replays to exactly what
 * is stored, and a stored row changed behind the service's back (direct SQL, as a bug or a hand
 * edit would) is reported at the history row that wrote it. On PostgreSQL and on embedded PGlite.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `npm run audit` with these arguments and environment: its exit code and what it printed. */
function runAudit(args: string[], env: Record<string, string | undefined>) {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/audit.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  }).then(
    (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
    (failed: { code: number; stdout: string; stderr: string }) => failed,
  );
}

async function audit(h: Harness, batchId: string) {
  const res = await h.api('GET', `/v1/operations/batches/${batchId}/audit`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function seqOf(h: Harness, batchId: string, eventType: string): Promise<number> {
  const [row] = await rows<{ seq: number }>(
    h.database.db,
    sql`SELECT seq FROM history WHERE batch_id = ${batchId} AND event_type = ${eventType} AND outcome = 'applied' ORDER BY seq DESC LIMIT 1`,
  );
  expect(row, `an applied ${eventType} row`).toBeDefined();
  return Number(row!.seq);
}

/** A batch whose teacher was reminded of the deadline and then confirmed one of its two essays: still awaiting the teacher. */
async function remindedBatch(h: Harness) {
  const teacher = await h.teacher('teacher-audit');
  const { klass, batchId, list } = await provisionedClassBatch(h, teacher, { students: 2, count: 2 });
  const [s0, s1] = klass.students;
  const sugg = await postEvent(
    h,
    suggested(batchId, klass.classId, [
      { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
      { essay: list[1]!, student_id: s1!.student_id, score: 0.5 },
    ]),
  );
  expect(sugg.status).toBe(200);
  const reminded = await h.service.remindDueDeadlines(24 * 3_600_000);
  expect(reminded.map((r) => r.batch_id)).toContain(batchId);
  const confirm = await confirmAssociations(h, teacher, batchId, [{ essay_id: list[0]!.essay_id, confirmed: true }]);
  expect(confirm.status).toBe(200);
  return { batchId, list };
}

/**
 * A batch purged by retention after everything that stores personal data: the matcher's
 * suggestions (names, file names, reasons), a reminder, a decision taken back and taken again (a
 * reason given), an essay the deadline decided (its notification composes the student's name from
 * the roster's), and a cancellation (a reason given). Its names, e-mails, file names and reasons are
 * `[redacted]` in every row, the kept machine inputs included.
 */
async function purgedBatch(h: Harness) {
  const teacher = await h.teacher('teacher-audit');
  const { klass, batchId, list } = await provisionedClassBatch(h, teacher, { students: 2, count: 2 });
  const [s0, s1] = klass.students;
  const matches = [
    { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
    { essay: list[1]!, student_id: s1!.student_id, score: 0.9 },
  ];
  expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
  expect((await h.service.remindDueDeadlines(24 * 3_600_000)).map((r) => r.batch_id)).toContain(batchId);
  const essay = list[0]!.essay_id;
  expect((await confirmAssociations(h, teacher, batchId, [{ essay_id: essay, confirmed: true }])).status).toBe(200);
  const reopened = await h.api('POST', `/v1/batches/${batchId}/student-associations/reopen`, {
    token: teacher,
    body: { essay_ids: [essay], reason: 'fel elev vald' },
  });
  expect(reopened.status).toBe(200);
  expect((await confirmAssociations(h, teacher, batchId, [{ essay_id: essay, confirmed: true }])).status).toBe(200);
  const [deadline] = await rows<{ version: number }>(
    h.database.db,
    sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId} RETURNING version`,
  );
  expect((await h.service.fireDeadline(batchId, deadline!.version)).kind).toBe('applied');
  const cancelled = await h.api('POST', `/v1/batches/${batchId}/cancel`, { token: teacher, body: { reason: 'dubbeluppladdning' } });
  expect(cancelled.status).toBe(200);
  await h.database.db.execute(sql`UPDATE batches SET updated_at = now() - interval '40 days' WHERE batch_id = ${batchId}`);
  const report = await h.service.purgeExpired({ retentionDays: 30, limit: 1000 });
  expect(report!.batches.map((b) => b.batch_id)).toContain(batchId);
  // The replay runs on the redacted inputs: the roster's names and the reasons are gone from them, ids and decisions stay.
  const inputs = await rows<{ event_type: string; machine_input: string | null }>(
    h.database.db,
    sql`SELECT event_type, machine_input::text AS machine_input FROM history WHERE batch_id = ${batchId} ORDER BY seq`,
  );
  const kept = inputs.map((r) => r.machine_input ?? '').join('\n');
  for (const personal of ['Some Student', 'name in header', 'fel elev vald', 'dubbeluppladdning', '.docx'])
    expect(kept).not.toContain(personal);
  expect(kept).toContain('[redacted]');
  expect(kept).toContain(essay);
  expect(inputs.at(-1)).toMatchObject({ event_type: 'RETENTION_PURGED', machine_input: null });
  return { batchId, list, events: inputs.length };
}

describe.each([
  { database: 'PostgreSQL', pglite: false },
  { database: 'embedded PGlite', pglite: true },
])('the audit on $database', ({ pglite }) => {
  const h = harnessForSuite({ label: `audit_${pglite ? 'pglite' : 'pg'}`, pglite });

  it('reproduces a batch driven through the whole REGULAR flow, refusals included', async () => {
    const { batchId } = await regularFlow(h);
    const report = await audit(h, batchId);
    expect(report).toEqual({ batch_id: batchId, ok: true, result: 'reproduced', events: 8 });
  });

  it("reproduces a batch with a deadline reminder and a teacher's decision, still waiting for the rest", async () => {
    const { batchId } = await remindedBatch(h);
    expect(await audit(h, batchId)).toMatchObject({ ok: true, result: 'reproduced' });
  });

  it('reproduces a batch purged by retention: the purge row is no machine event, and the replay is redacted as the rows were', async () => {
    const { batchId, events } = await purgedBatch(h);
    expect(await audit(h, batchId)).toEqual({ batch_id: batchId, ok: true, result: 'reproduced', events });
    if (!pglite) {
      const cli = await runAudit(['--batch', batchId], { DATABASE_URL: h.url });
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ batch_id: batchId, result: 'reproduced' });
    }
  }, 60_000);

  it('reports a decision column changed after a purge at the decision that wrote it', async () => {
    const { batchId, list } = await purgedBatch(h);
    const essay = list[0]!.essay_id;
    await h.database.db.execute(sql`UPDATE essay_student_associations SET validated_by = 'someone-else' WHERE essay_id = ${essay}`);
    const report = await audit(h, batchId);
    const decided = await seqOf(h, batchId, 'TEACHER_DECISIONS');
    expect(report).toMatchObject({ ok: false, result: 'diverged', first_divergence: { seq: decided, event_type: 'TEACHER_DECISIONS' } });
    expect(report.differences).toEqual([
      expect.objectContaining({
        table: 'association_row',
        key: essay,
        field: 'validated_by',
        expected: 'teacher-audit',
        stored: 'someone-else',
      }),
    ]);
  });

  it('reports a purge row changed by hand at that row', async () => {
    const { batchId } = await purgedBatch(h);
    await h.database.db.execute(
      sql`UPDATE history SET from_state = 'awaiting_content_validation' WHERE batch_id = ${batchId} AND event_type = 'RETENTION_PURGED'`,
    );
    const report = await audit(h, batchId);
    expect(report).toMatchObject({ ok: false, result: 'diverged', first_divergence: { event_type: 'RETENTION_PURGED' } });
    expect(report.differences).toEqual([
      expect.objectContaining({ table: 'history', field: 'from_state', expected: 'cancelled', stored: 'awaiting_content_validation' }),
    ]);
  });

  it('reports a changed batch snapshot at the event that last changed that field', async () => {
    const { batchId } = await remindedBatch(h);
    await h.database.db.execute(
      sql`UPDATE actor_snapshots SET snapshot = jsonb_set(snapshot, '{context,association_counts,pending}', '0') WHERE actor_id = ${`batch:${batchId}`}`,
    );
    const report = await audit(h, batchId);
    const decided = await seqOf(h, batchId, 'TEACHER_DECISIONS');
    expect(report).toMatchObject({ ok: false, result: 'diverged', first_divergence: { seq: decided, event_type: 'TEACHER_DECISIONS' } });
    expect(report.differences).toEqual([
      expect.objectContaining({ table: 'batch_snapshot', field: 'context.association_counts.pending', expected: 1, stored: 0 }),
    ]);
  });

  it('reports a changed association row at the decision that wrote it, naming the essay', async () => {
    const { batchId, list } = await remindedBatch(h);
    const essay = list[0]!.essay_id;
    await h.database.db.execute(sql`UPDATE essay_student_associations SET validated_by = 'someone-else' WHERE essay_id = ${essay}`);
    const report = await audit(h, batchId);
    const decided = await seqOf(h, batchId, 'TEACHER_DECISIONS');
    expect(report.first_divergence).toMatchObject({ seq: decided, event_type: 'TEACHER_DECISIONS' });
    expect(report.differences).toEqual([
      expect.objectContaining({
        table: 'association_row',
        key: essay,
        field: 'validated_by',
        expected: 'teacher-audit',
        stored: 'someone-else',
      }),
    ]);
  });

  it('reports a changed association snapshot of an essay no later event touched at the event that created it', async () => {
    const { batchId, list } = await remindedBatch(h);
    const essay = list[1]!.essay_id;
    await h.database.db.execute(
      sql`UPDATE essay_student_associations SET snapshot = jsonb_set(snapshot, '{confidence_score}', '0.99') WHERE essay_id = ${essay}`,
    );
    const report = await audit(h, batchId);
    const suggestedAt = await seqOf(h, batchId, TOPICS.authorMatchesSuggested);
    expect(report.first_divergence).toMatchObject({ seq: suggestedAt, event_type: TOPICS.authorMatchesSuggested });
    expect(report.differences).toEqual([
      expect.objectContaining({ table: 'association_snapshot', key: essay, field: 'confidence_score', expected: 0.5, stored: 0.99 }),
    ]);
  });

  it('reports a changed outbox envelope at the event that emitted it, and a missing one too', async () => {
    const { batchId } = await remindedBatch(h);
    const provisionedAt = await seqOf(h, batchId, TOPICS.contentProvisioned);
    const [command] = await rows<{ seq: number; at: number; alone: boolean }>(
      h.database.db,
      sql`SELECT m.seq, m.idx - 1 AS at, jsonb_array_length(o.messages) = 1 AS alone
          FROM outbox_messages m JOIN outbox o USING (seq) WHERE m.batch_id = ${batchId} AND m.topic = ${TOPICS.studentMatchingCommand}`,
    );
    await h.database.db.execute(
      sql`UPDATE outbox SET messages = jsonb_set(messages, ${`{${command!.at},envelope,data,course_code}`}::text[], '"SV1"') WHERE seq = ${command!.seq}`,
    );
    const changed = await audit(h, batchId);
    expect(changed.first_divergence).toMatchObject({ seq: provisionedAt, event_type: TOPICS.contentProvisioned });
    expect(changed.differences).toEqual([
      expect.objectContaining({ table: 'outbox', field: 'envelope.data.course_code', expected: 'ENG5', stored: 'SV1' }),
    ]);

    // The message goes; so does its row when it was the row's only one (a row holds at least one).
    await h.database.db.execute(
      command!.alone
        ? sql`DELETE FROM outbox WHERE seq = ${command!.seq}`
        : sql`UPDATE outbox SET messages = messages - ${command!.at}::int WHERE seq = ${command!.seq}`,
    );
    const missing = await audit(h, batchId);
    expect(missing.first_divergence).toMatchObject({ seq: provisionedAt });
    expect(missing.differences[0]).toMatchObject({ table: 'outbox', expected: TOPICS.studentMatchingCommand });
  });

  it('reports a changed history row at that row', async () => {
    const { batchId } = await remindedBatch(h);
    const suggestedAt = await seqOf(h, batchId, TOPICS.authorMatchesSuggested);
    await h.database.db.execute(sql`UPDATE history SET to_state = 'ready_for_pipeline_execution' WHERE seq = ${suggestedAt}`);
    const report = await audit(h, batchId);
    expect(report.first_divergence).toMatchObject({ seq: suggestedAt });
    expect(report.differences[0]).toMatchObject({ table: 'history', field: 'to_state', stored: 'ready_for_pipeline_execution' });
  });

  it("reports a kept machine input that does not lead to what was stored (a decision's input turned into a rejection)", async () => {
    const { batchId } = await remindedBatch(h);
    const decided = await seqOf(h, batchId, 'TEACHER_DECISIONS');
    await h.database.db.execute(
      sql`UPDATE history SET machine_input = jsonb_set(machine_input, '{event,decisions,0,confirmed}', 'false') WHERE seq = ${decided}`,
    );
    const report = await audit(h, batchId);
    expect(report.first_divergence).toMatchObject({ seq: decided, event_type: 'TEACHER_DECISIONS' });
    expect(report.differences).toContainEqual(
      expect.objectContaining({ table: 'history', field: 'detail.decided.0.validation_status', expected: 'rejected', stored: 'confirmed' }),
    );
    expect(report.differences).toContainEqual(
      expect.objectContaining({ table: 'association_row', field: 'validation_status', expected: 'rejected', stored: 'confirmed' }),
    );
  });

  it('says a history written before machine inputs were kept cannot be replayed, rather than passing it', async () => {
    const { batchId } = await remindedBatch(h);
    const provisionedAt = await seqOf(h, batchId, TOPICS.contentProvisioned);
    await h.database.db.execute(sql`UPDATE history SET machine_input = NULL WHERE seq = ${provisionedAt}`);
    const report = await audit(h, batchId);
    expect(report).toMatchObject({
      ok: false,
      result: 'unverifiable',
      first_unreplayable: { seq: provisionedAt, event_type: TOPICS.contentProvisioned },
    });
  });

  it('answers operators only: 404 for an unknown batch, 400 for a malformed id, 403 for a teacher', async () => {
    expect((await h.api('GET', `/v1/operations/batches/${crypto.randomUUID()}/audit`)).status).toBe(404);
    expect((await h.api('GET', '/v1/operations/batches/not-a-uuid/audit')).status).toBe(400);
    const teacher = await h.teacher('teacher-audit');
    const { batchId } = await regularFlow(h);
    expect((await h.api('GET', `/v1/operations/batches/${batchId}/audit`, { token: teacher })).status).toBe(403);
  });

  // On PostgreSQL only: the CLI of the embedded database has its own test below (a DATA_DIR, not a URL).
  if (!pglite)
    it('npm run audit: --batch and --all print the reports and exit 1 when one diverged', async () => {
      const { batchId } = await regularFlow(h);
      const run = (args: string[]) => runAudit(args, { DATABASE_URL: h.url });
      const clean = await run(['--batch', batchId]);
      expect(clean.code, clean.stderr).toBe(0);
      expect(JSON.parse(clean.stdout)).toMatchObject({ batch_id: batchId, ok: true });

      await h.database.db.execute(sql`UPDATE batches SET version = version + 1 WHERE batch_id = ${batchId}`);
      const all = await run(['--all', '--quiet']);
      expect(all.code, all.stderr).toBe(1);
      // The other tests of this file left their tampered batches: --quiet prints only those not reproduced.
      const printed = all.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(printed.every((r) => r.ok === false)).toBe(true);
      const ours = printed.find((r) => r.batch_id === batchId);
      expect(ours).toMatchObject({ result: 'diverged' });
      expect(ours.differences).toEqual([expect.objectContaining({ table: 'batch_row', field: 'version', expected: 6, stored: 7 })]);
      expect(all.stderr).toMatch(/audited \d+ batches/);
    }, 60_000);
});

describe('npm run audit on the embedded database in DATA_DIR', () => {
  it('reads DATA_DIR when no DATABASE_URL is set, and exits 1 on a divergence', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'audit-pglite-'));
    try {
      const database = await openDatabase({ dataDir });
      const registered = await registerBatch(
        database.db,
        'teacher-audit',
        { course_code: 'SV1', expected_essay_count: 2 },
        crypto.randomUUID(),
        new Date().toISOString(),
      );
      if (registered.kind !== 'registered') throw new Error(`not registered: ${registered.kind}`);
      const batchId = registered.batch.batch_id;
      await database.close();
      const env = { DATABASE_URL: '', DATA_DIR: dataDir };

      const clean = await runAudit(['--batch', batchId], env);
      expect(clean.code, clean.stderr).toBe(0);
      expect(JSON.parse(clean.stdout)).toEqual({ batch_id: batchId, ok: true, result: 'reproduced', events: 1 });

      const reopened = await openDatabase({ dataDir });
      await reopened.db.execute(sql`UPDATE batches SET expected_essay_count = 3 WHERE batch_id = ${batchId}`);
      await reopened.close();
      const tampered = await runAudit(['--all'], env);
      expect(tampered.code, tampered.stderr).toBe(1);
      expect(JSON.parse(tampered.stdout)).toMatchObject({
        result: 'diverged',
        first_divergence: { event_type: 'BATCH_REGISTERED' },
        differences: [{ table: 'batch_row', field: 'expected_essay_count', expected: 2, stored: 3 }],
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Three opens of a file-backed PGlite (each replays the migrations' check) and two CLI starts.
  }, 120_000);
});
