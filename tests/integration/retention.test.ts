import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { rows } from '../../db/client.ts';
import {
  REDACTED,
  redactAssociationSnapshot,
  redactEnvelope,
  redactHistoryDetail,
  redactMachineInput,
} from '../../app/retention-redact.ts';
import { RETENTION_QUEUE, createRetentionLoop, startRetentionWorker } from '../../jobs/retention.ts';
import { TOPICS } from '../../machines/events.ts';
import { essays, essaysReady, envelope, pipelineRequest, postEvent, provisioned, real, uuid, validationErrors } from '../support/flow.ts';
import { type Harness, harnessForSuite, startHarness } from '../support/harness.ts';
import { REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/poll.ts';
import { dropRedisKeys } from '../support/redis-keys.ts';
import { type OpenApiDocument, SpecValidator } from '../support/spec.ts';

/**
 * Retention (issue 24, item 5): a finished batch unchanged for RETENTION_DAYS loses every copy of
 * its students' names and e-mails, its file names and the teacher's free-text reasons, in every
 * table; its decision trail stays; unfinished and recent batches are untouched; a second purge
 * changes nothing.
 */

const TEACHER = 'teacher-retention';
const RETENTION_DAYS = 30;

/** The personal strings of one batch, unique to it, so a scan of every table can tell whose they are. */
function personal(tag: string) {
  return {
    first: `Emil${tag}`,
    last: `Zäll${tag}`,
    legal: `Emil Zäll Jernberg ${tag}`,
    email: `emil.zäll.${tag}@test.edu`,
    first2: `Anna${tag}`,
    last2: `Höglund Öman ${tag}`,
    email2: `anna.öman.${tag}@test.edu`,
    slotFile: `Uppsats Zäll ${tag}.docx`,
    slotFile2: `Höglund essä ${tag}.pdf`,
    matcherFile: `zall-${tag}.docx`,
    errorFile: `tom-fil-${tag}.docx`,
    matchReason: `namn i rubriken ${tag}`,
    reopenReason: `fel elev vald ${tag}`,
    correctionReason: `bytte elev ${tag}`,
    cancelReason: `dubbeluppladdning ${tag}`,
  };
}
type Personal = ReturnType<typeof personal>;
const tagged = () => randomBytes(4).toString('hex');

/**
 * Every table of the service's schema, each row as text. Outbox rows of no batch (the class's roster
 * notifications, `student_added_to_class`) are the roster's, listed apart as `outbox (class)`.
 */
async function dump(h: Harness): Promise<Record<string, string[]>> {
  const tables = await rows<{ table_name: string }>(
    h.database.db,
    sql`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    const found = await rows<{ row: string; classLevel: boolean }>(
      h.database.db,
      sql.raw(`SELECT t::text AS row, ${table_name === 'outbox' ? 't.batch_id IS NULL' : 'false'} AS "classLevel" FROM "${table_name}" t`),
    );
    out[table_name] = found
      .filter((r) => !r.classLevel)
      .map((r) => r.row)
      .sort();
    if (table_name === 'outbox')
      out['outbox (class)'] = found
        .filter((r) => r.classLevel)
        .map((r) => r.row)
        .sort();
  }
  return out;
}

/** The class's roster: its students and their class-level notifications, left to the class (docs/operations.md#retention). */
const ROSTER = ['students', 'outbox (class)'];

/** Where each of `strings` appears: `table: string` for every hit outside the roster (students). */
function hits(tables: Record<string, string[]>, strings: string[], except: string[] = ROSTER) {
  return Object.entries(tables).flatMap(([table, list]) =>
    except.includes(table) ? [] : strings.flatMap((s) => (list.some((row) => row.includes(s)) ? [`${table}: ${s}`] : [])),
  );
}

async function age(h: Harness, batchIds: string[], days: number) {
  await rows(
    h.database.db,
    sql`UPDATE batches SET updated_at = now() - ${days} * interval '1 day' WHERE batch_id::text IN (SELECT jsonb_array_elements_text(${JSON.stringify(batchIds)}::jsonb))`,
  );
}

/** A class with two Swedish students (names, legal name, e-mails) and a third with one name. */
async function swedishClass(h: Harness, token: string, p: Personal) {
  const created = await h.api('POST', '/v1/classes', { token, body: { name: 'SV 9C', course_code: 'SV2' } });
  expect(created.status).toBe(201);
  const classId = created.body.class_id as string;
  const added = await h.api('POST', `/v1/classes/${classId}/students`, {
    token,
    body: {
      students: [
        { first_name: p.first, last_name: p.last, legal_full_name: p.legal, email: p.email },
        { first_name: p.first2, last_name: p.last2, email: p.email2 },
      ],
    },
  });
  expect(added.status).toBe(201);
  return { classId, students: (added.body.students as Array<{ student_id: string }>).map((s) => s.student_id) };
}

/**
 * A REGULAR batch of two essays through everything that stores personal data: slots with original
 * file names, a validation error naming a file, the matcher's file names, names, e-mails and
 * reasons, a decision reopened with a reason, a correction with a reason, then a pipeline that ran
 * to the end. `pending` stops it with the associations waiting for the teacher, `running` with its
 * pipeline's first phase running: both unfinished.
 */
async function regularBatch(h: Harness, token: string, p: Personal, stage: 'pending' | 'running' | 'finished' = 'finished') {
  const klass = await swedishClass(h, token, p);
  const registered = await h.api('POST', '/v1/batches', {
    token,
    body: { course_code: 'SV2', class_id: klass.classId, expected_essay_count: 2 },
  });
  expect(registered.status).toBe(201);
  const batchId = registered.body.batch_id as string;
  const list = essays(2);
  for (const [i, essay] of list.entries()) {
    const slot = real(TOPICS.essaySlotAssigned, {
      event: 'essay.slot.assigned',
      batch_id: batchId,
      essay_id: essay.essay_id,
      file_upload_id: uuid(),
      text_storage_id: essay.text_storage_id,
      original_file_name: [p.slotFile, p.slotFile2][i]!,
      correlation_id: uuid(),
      timestamp: new Date().toISOString(),
    });
    expect((await postEvent(h, slot)).status).toBe(200);
  }
  const errors = validationErrors(batchId, [uuid()], false);
  (errors.data as any).failed_essays[0].file_name = p.errorFile;
  expect((await postEvent(h, errors)).status).toBe(200);
  expect((await postEvent(h, provisioned(batchId, list, 'SV2'))).status).toBe(200);
  const suggestion = (i: number) => ({
    student_id: klass.students[i]!,
    student_name: i === 0 ? p.legal : `${p.first2} ${p.last2}`,
    student_email: i === 0 ? p.email : p.email2,
    confidence_score: 0.9,
    match_reasons: [p.matchReason],
  });
  const suggestions = real(TOPICS.authorMatchesSuggested, {
    batch_id: batchId,
    class_id: klass.classId,
    course_code: 'SV2',
    match_results: list.map((essay, i) => ({
      essay_id: essay.essay_id,
      text_storage_id: essay.text_storage_id,
      filename: i === 0 ? p.matcherFile : '',
      suggestions: [suggestion(i), suggestion(1 - i)],
    })),
    processing_summary: { total_essays: 2, matched: 2 },
  });
  expect((await postEvent(h, suggestions)).status).toBe(200);
  if (stage === 'pending') return { batchId, list, klass };
  const confirm = (associations: unknown) =>
    h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, { token, body: { associations } });
  expect((await confirm([{ essay_id: list[0]!.essay_id, confirmed: true }])).status).toBe(200);
  const reopened = await h.api('POST', `/v1/batches/${batchId}/student-associations/reopen`, {
    token,
    body: { essay_ids: [list[0]!.essay_id], reason: p.reopenReason },
  });
  expect(reopened.status).toBe(200);
  const settled = await confirm([
    { essay_id: list[0]!.essay_id, confirmed: true },
    { essay_id: list[1]!.essay_id, confirmed: true },
  ]);
  expect(settled.body.state).toBe('student_validation_completed');
  const corrected = await h.api('POST', `/v1/batches/${batchId}/student-associations/correct`, {
    token,
    body: { corrections: [{ essay_id: list[1]!.essay_id, student_id: klass.students[0]!, reason: p.correctionReason }] },
  });
  expect(corrected.status).toBe(200);
  expect((await postEvent(h, essaysReady(batchId, list, 'REGULAR', 'SV2'))).body.state).toBe('ready_for_pipeline_execution');
  expect((await postEvent(h, pipelineRequest(batchId, 'nlp', TEACHER))).status).toBe(200);
  if (stage === 'running') return { batchId, list, klass };
  const outcome = (phase: string) =>
    envelope(TOPICS.phaseOutcome, {
      batch_id: batchId,
      phase_name: phase,
      phase_status: 'completed_successfully',
      processed_essays: list,
      failed_essay_ids: [],
      correlation_id: uuid(),
    });
  expect((await postEvent(h, outcome('spellcheck'))).status).toBe(200);
  expect((await postEvent(h, pipelineRequest(batchId, 'nlp', TEACHER))).status).toBe(200);
  expect((await postEvent(h, outcome('nlp'))).status).toBe(200);
  return { batchId, list, klass };
}

/** A REGULAR batch cancelled (with a reason) while its suggestions waited for the teacher. */
async function cancelledBatch(h: Harness, token: string, p: Personal) {
  const { batchId } = await regularBatch(h, token, p, 'pending');
  const cancelled = await h.api('POST', `/v1/batches/${batchId}/cancel`, { token, body: { reason: p.cancelReason } });
  expect(cancelled.status).toBe(200);
  return batchId;
}

/** What retention must never change: the decision trail of a batch. */
async function decisionTrail(h: Harness, batchId: string) {
  const db = h.database.db;
  return {
    batch: await rows(db, sql`SELECT * FROM batches WHERE batch_id = ${batchId}`),
    actor: await rows(
      db,
      sql`SELECT version, machine_version, updated_at, snapshot->'value' AS value FROM actor_snapshots WHERE actor_id = ${`batch:${batchId}`}`,
    ),
    associations: await rows(
      db,
      sql`SELECT id, essay_id, student_id, suggested_student_id, class_id, created_by_user_id, created_at, confidence_score, validation_status,
            validated_by, validated_at, validation_method, text_storage_id FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY essay_id`,
    ),
    associationVersions: await rows(
      db,
      sql`SELECT essay_id, machine_version FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY essay_id`,
    ),
    history: await rows(
      db,
      sql`SELECT seq, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version
          FROM history WHERE batch_id = ${batchId} AND event_type <> 'RETENTION_PURGED' ORDER BY seq`,
    ),
    outbox: await rows(
      db,
      sql`SELECT seq, idx, event_id, topic, correlation_id, created_at, published_at, position FROM outbox_messages WHERE batch_id = ${batchId} ORDER BY seq, idx`,
    ),
    slots: await rows(
      db,
      sql`SELECT essay_id, file_upload_id, text_storage_id, assigned_at FROM essay_slots WHERE batch_id = ${batchId} ORDER BY essay_id`,
    ),
    processed: await rows(
      db,
      sql`SELECT event_id, fingerprint, created_at FROM processed_events WHERE batch_id = ${batchId} ORDER BY event_id`,
    ),
  };
}

/** Every JSON document of a batch, to hold the purged ones to the pure redaction the audit will apply. */
async function documents(h: Harness, batchId: string) {
  const db = h.database.db;
  return {
    associations: await rows<{ snapshot: unknown }>(
      db,
      sql`SELECT snapshot FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY essay_id`,
    ),
    outbox: await rows<{ envelope: unknown }>(db, sql`SELECT envelope FROM outbox_messages WHERE batch_id = ${batchId} ORDER BY seq, idx`),
    history: await rows<{ detail: unknown; machine_input: unknown }>(
      db,
      sql`SELECT detail, machine_input FROM history WHERE batch_id = ${batchId} AND event_type <> 'RETENTION_PURGED' ORDER BY seq`,
    ),
  };
}

const purge = (h: Harness, body: unknown, token?: string | null) =>
  h.api('POST', '/v1/operations/retention/purge', { body, ...(token === undefined ? {} : { token }) });

describe.each([
  { database: 'PostgreSQL', pglite: false },
  { database: 'PGlite', pglite: true },
])('retention on $database', ({ database, pglite }) => {
  const h = harnessForSuite({ label: `retention_${database.toLowerCase()}`, pglite, retentionDays: RETENTION_DAYS });

  it('purges the personal data of finished batches older than the period in every table, keeps their decision trail, and leaves the rest', async () => {
    const token = await h.teacher(TEACHER);
    const [pOld, pCancelled, pPending, pRunning, pRecent] = [tagged(), tagged(), tagged(), tagged(), tagged()].map(personal) as [
      Personal,
      Personal,
      Personal,
      Personal,
      Personal,
    ];
    const old = await regularBatch(h, token, pOld);
    const cancelled = await cancelledBatch(h, token, pCancelled);
    const pending = await regularBatch(h, token, pPending, 'pending');
    const running = await regularBatch(h, token, pRunning, 'running');
    const recent = await cancelledBatch(h, token, pRecent);
    await age(h, [old.batchId, cancelled, pending.batchId, running.batchId], RETENTION_DAYS + 10);
    await age(h, [recent], RETENTION_DAYS - 1);

    const strings = (p: Personal) => Object.values(p);
    const before = await dump(h);
    // The personal strings are stored beyond the roster before the purge, or this test would prove nothing.
    const stored = (p: Personal) => strings(p).filter((s) => hits(before, [s]).length > 0);
    const copied = (p: Personal) => [p.legal, p.email, p.first2, p.email2, p.slotFile, p.slotFile2, p.matcherFile, p.matchReason];
    expect(stored(pOld)).toEqual(
      expect.arrayContaining([...copied(pOld), pOld.first, pOld.last, pOld.reopenReason, pOld.correctionReason]),
    );
    expect(stored(pCancelled)).toEqual(expect.arrayContaining([...copied(pCancelled), pCancelled.cancelReason]));
    expect(stored(pPending)).toEqual(expect.arrayContaining(copied(pPending)));
    expect(stored(pRunning)).toEqual(expect.arrayContaining([...copied(pRunning), pRunning.reopenReason, pRunning.correctionReason]));
    expect(stored(pRecent)).toEqual(expect.arrayContaining([...copied(pRecent), pRecent.cancelReason]));
    const trailBefore = { old: await decisionTrail(h, old.batchId), cancelled: await decisionTrail(h, cancelled) };
    const docsBefore = await documents(h, old.batchId);

    // A dry run answers what would go, and changes nothing.
    const dry = await purge(h, { dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
    expect(dry.body.batches.map((b: { batch_id: string }) => b.batch_id).sort()).toEqual([old.batchId, cancelled].sort());
    expect(await dump(h)).toEqual(before);

    const report = await purge(h, {});
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ dry_run: false, retention_days: RETENTION_DAYS, remaining: 0 });
    const byBatch = Object.fromEntries((report.body.batches as any[]).map((b) => [b.batch_id, b]));
    expect(Object.keys(byBatch).sort()).toEqual([old.batchId, cancelled].sort());
    expect(byBatch[old.batchId]).toMatchObject({ state: 'ready_for_pipeline_execution' });
    expect(byBatch[cancelled]).toMatchObject({ state: 'cancelled' });
    expect(byBatch[old.batchId].rows).toMatchObject({ association_snapshots: 2, essay_student_associations: 2, essay_slots: 2 });
    expect(byBatch[old.batchId].rows.outbox).toBeGreaterThan(0);
    expect(byBatch[old.batchId].rows.history).toBeGreaterThan(0);
    expect(dry.body.batches.map((b: any) => b.rows)).toEqual(dry.body.batches.map((b: any) => byBatch[b.batch_id].rows));

    const after = await dump(h);
    // Gone from every table but the class's roster, for the purged batches; untouched for the others.
    expect(hits(after, [...strings(pOld), ...strings(pCancelled)])).toEqual([]);
    for (const p of [pPending, pRunning, pRecent]) expect(hits(after, strings(p), [])).toEqual(hits(before, strings(p), []));
    for (const [table, list] of Object.entries(after)) {
      if (table === 'history') continue;
      const others = (l: string[]) => l.filter((row) => ![old.batchId, cancelled].some((id) => row.includes(id)));
      expect(others(list), table).toEqual(others(before[table]!));
    }

    // The decision trail is what it was; each stored document is the pure redaction of what it was.
    expect(await decisionTrail(h, old.batchId)).toEqual(trailBefore.old);
    expect(await decisionTrail(h, cancelled)).toEqual(trailBefore.cancelled);
    const docsAfter = await documents(h, old.batchId);
    expect(docsAfter.associations.map((r) => r.snapshot)).toEqual(
      docsBefore.associations.map((r) => redactAssociationSnapshot(r.snapshot)),
    );
    expect(docsAfter.outbox.map((r) => r.envelope)).toEqual(docsBefore.outbox.map((r) => redactEnvelope(r.envelope)));
    expect(docsAfter.history.map((r) => r.detail)).toEqual(docsBefore.history.map((r) => redactHistoryDetail(r.detail)));
    expect(docsAfter.history.map((r) => r.machine_input)).toEqual(docsBefore.history.map((r) => redactMachineInput(r.machine_input)));

    // The purge is in the history, at the batch's version, with its counts.
    const teacher = await h.teacher(TEACHER);
    const history = await h.api('GET', `/v1/batches/${old.batchId}/history`, { token: teacher });
    expect(history.status).toBe(200);
    const last = (history.body.history as any[]).at(-1);
    expect(last).toMatchObject({ event_type: 'RETENTION_PURGED', outcome: 'purged', actor: 'retention' });
    expect(last.detail.rows).toEqual(byBatch[old.batchId].rows);

    // The read routes still answer, with the pseudonyms and the decisions.
    expect((await h.api('GET', `/v1/batches/${old.batchId}`, { token: teacher })).status).toBe(200);
    const listed = await h.api('GET', `/v1/batches/${old.batchId}/student-associations`, { token: teacher });
    expect(listed.status).toBe(200);
    const first = (listed.body.associations as any[]).find((a) => a.essay_id === old.list[0]!.essay_id);
    expect(first).toMatchObject({ filename: REDACTED, student_id: old.klass.students[0], validation_status: 'confirmed' });
    expect(first.suggestions[0]).toMatchObject({
      student_id: old.klass.students[0],
      student_name: REDACTED,
      student_email: null,
      match_reasons: [],
    });

    // Every answer about the purged batch fits the documented schemas.
    const spec = new SpecValidator((await h.api('GET', '/openapi.json', { token: null })).body as OpenApiDocument);
    const documentedAnswer = (path: string, method: string, body: unknown) =>
      spec.errorsAt(['paths', path, method, 'responses', '200', 'content', 'application/json', 'schema'], body);
    expect(documentedAnswer('/v1/operations/retention/purge', 'post', report.body)).toEqual([]);
    expect(documentedAnswer('/v1/batches/{batch_id}/history', 'get', history.body)).toEqual([]);
    // The roster's SMTPUTF8 e-mails (`emil.zäll.…@test.edu`, left by retention) fail the document's `format: email`,
    // which wants ASCII (idn-email would take them): a gap of the document, not of retention.
    expect(
      documentedAnswer('/v1/batches/{batch_id}/student-associations', 'get', listed.body).filter(
        (e) => !/\/student\/email must match format "email"/.test(e),
      ),
    ).toEqual([]);

    // A second purge finds nothing and changes nothing.
    const again = await purge(h, {});
    expect(again.status).toBe(200);
    expect(again.body.batches).toEqual([]);
    expect(await dump(h)).toEqual(after);

    // The audit still passes on what remains: replayed from the redacted machine inputs, redacted as the rows were.
    const audited = async (batchId: string) => (await h.api('GET', `/v1/operations/batches/${batchId}/audit`)).body;
    for (const batchId of [old.batchId, cancelled]) expect(await audited(batchId)).toMatchObject({ ok: true, result: 'reproduced' });
    // A purged batch that is still ready takes another pipeline from its redacted rows, and is purged and audited again.
    expect((await postEvent(h, pipelineRequest(old.batchId, 'nlp', TEACHER))).status).toBe(200);
    expect((await audited(old.batchId)).result).toBe('reproduced');
    await age(h, [old.batchId], RETENTION_DAYS + 1);
    expect((await purge(h, {})).body.batches.map((b: { batch_id: string }) => b.batch_id)).toEqual([old.batchId]);
    const twice = await rows(h.database.db, sql`SELECT 1 FROM history WHERE batch_id = ${old.batchId} AND event_type = 'RETENTION_PURGED'`);
    expect(twice).toHaveLength(2);
    expect(await audited(old.batchId)).toMatchObject({ ok: true, result: 'reproduced' });
  });

  it('purges up to `limit` batches a pass and reports the rest; two passes at once purge each batch once', async () => {
    const token = await h.teacher(TEACHER);
    // Whatever earlier tests left due is purged first, so this test counts its own batches.
    await h.service.purgeExpired({ limit: 1000 });
    const batches = [await cancelledBatch(h, token, personal(tagged())), await cancelledBatch(h, token, personal(tagged()))];
    await age(h, batches, RETENTION_DAYS + 2);
    const first = await purge(h, { limit: 1 });
    expect(first.body.batches).toHaveLength(1);
    expect(first.body.remaining).toBe(1);
    const third = await cancelledBatch(h, token, personal(tagged()));
    await age(h, [third], RETENTION_DAYS + 2);
    const [a, b] = await Promise.all([h.service.purgeExpired(), h.service.purgeExpired()]);
    const purgedIds = [...a!.batches, ...b!.batches].map((x) => x.batch_id).sort();
    expect(purgedIds).toEqual([...batches, third].filter((id) => id !== first.body.batches[0].batch_id).sort());
    const marks = await rows<{ batch_id: string; n: number }>(
      h.database.db,
      sql`SELECT batch_id, count(*)::int AS n FROM history WHERE event_type = 'RETENTION_PURGED' GROUP BY batch_id`,
    );
    expect(marks.filter((m) => [...batches, third].includes(m.batch_id)).map((m) => m.n)).toEqual([1, 1, 1]);
  });

  it('purges again a purged batch that was sent a file name later (EssaySlotAssignedV1 is no transition)', async () => {
    const token = await h.teacher(TEACHER);
    const batchId = await cancelledBatch(h, token, personal(tagged()));
    await age(h, [batchId], RETENTION_DAYS + 3);
    await h.service.purgeExpired({ limit: 1000 });
    const late = `sen fil ${tagged()}.docx`;
    const slot = real(TOPICS.essaySlotAssigned, {
      event: 'essay.slot.assigned',
      batch_id: batchId,
      essay_id: uuid(),
      file_upload_id: uuid(),
      text_storage_id: 'storage-late',
      original_file_name: late,
      correlation_id: uuid(),
      timestamp: new Date().toISOString(),
    });
    expect((await postEvent(h, slot)).status).toBe(200);
    expect(hits(await dump(h), [late])).toEqual(['essay_slots: ' + late]);
    const again = await h.service.purgeExpired({ limit: 1000 });
    expect(again!.batches.map((b) => [b.batch_id, b.rows.essay_slots])).toEqual([[batchId, 1]]);
    expect(hits(await dump(h), [late])).toEqual([]);
    expect((await h.service.purgeExpired({ limit: 1000 }))!.batches).toEqual([]);
  });

  it('purges again a purged batch that refused an event since: the refusal kept its input, a free-text reason', async () => {
    const token = await h.teacher(TEACHER);
    const batchId = await cancelledBatch(h, token, personal(tagged()));
    await age(h, [batchId], RETENTION_DAYS + 3);
    await h.service.purgeExpired({ limit: 1000 });
    const late = `avbryt igen ${tagged()}`;
    const refused = await h.api('POST', `/v1/batches/${batchId}/cancel`, { token, body: { reason: late } });
    expect(refused.status).toBe(409);
    expect(hits(await dump(h), [late])).toEqual(['history: ' + late]);
    const again = await h.service.purgeExpired({ limit: 1000 });
    expect(again!.batches.map((b) => [b.batch_id, b.rows.history])).toEqual([[batchId, 1]]);
    expect(hits(await dump(h), [late])).toEqual([]);
    expect((await h.service.purgeExpired({ limit: 1000 }))!.batches).toEqual([]);
    expect((await h.api('GET', `/v1/operations/batches/${batchId}/audit`)).body).toMatchObject({ ok: true, result: 'reproduced' });
  });

  it('answers the operator only, refuses bad input with problem+json, and changes nothing then', async () => {
    const token = await h.teacher(TEACHER);
    const cancelled = await cancelledBatch(h, token, personal(tagged()));
    await age(h, [cancelled], RETENTION_DAYS + 1);
    const before = await dump(h);
    const refused = [
      await purge(h, {}, token),
      await purge(h, {}, null),
      await purge(h, { dry_run: 'yes' }),
      await purge(h, { limit: 0 }),
      await purge(h, { retention_days: 0 }),
      await purge(h, { older_than: '2020-01-01' }),
      await h.api('POST', '/v1/operations/retention/purge', { raw: '{', headers: { 'content-type': 'application/json' } }),
      await h.api('POST', '/v1/operations/retention/purge', { raw: 'x', headers: { 'content-type': 'text/plain' } }),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 401, 400, 400, 400, 400, 400, 415]);
    for (const r of refused) expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused[5]!.body.errors).toEqual([{ path: 'older_than', message: 'unknown field' }]);
    expect(await dump(h)).toEqual(before);
    // The operator may name a period; the batch is purged then.
    const purged = await purge(h, { retention_days: RETENTION_DAYS, limit: 1000 });
    expect(purged.status).toBe(200);
    expect(purged.body.batches.map((b: { batch_id: string }) => b.batch_id)).toContain(cancelled);
  });
});

describe('retention when RETENTION_DAYS is not set', () => {
  const h = harnessForSuite({ label: 'retention_off', pglite: true });
  it('purges nothing on its own and answers 409 unless the operator names the period', async () => {
    const token = await h.teacher(TEACHER);
    const batchId = await cancelledBatch(h, token, personal(tagged()));
    await age(h, [batchId], 400);
    expect(await h.service.purgeExpired()).toBeNull();
    const off = await purge(h, { dry_run: true });
    expect(off.status).toBe(409);
    expect(off.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const named = await purge(h, { retention_days: 365, dry_run: true });
    expect(named.body.batches.map((b: { batch_id: string }) => b.batch_id)).toEqual([batchId]);
  });
});

describe('the retention job', () => {
  const purgedRow = async (h: Harness, batchId: string) =>
    (await rows(h.database.db, sql`SELECT 1 FROM history WHERE batch_id = ${batchId} AND event_type = 'RETENTION_PURGED'`)).length > 0;

  it('runs on its own without Redis: the database loop purges a batch that became old enough', async () => {
    const h = await startHarness({ label: 'retention_loop', pglite: true, retentionDays: RETENTION_DAYS });
    const loop = createRetentionLoop(h.service, { intervalMs: 50 });
    try {
      loop.start();
      const batchId = await cancelledBatch(h, await h.teacher(TEACHER), personal(tagged()));
      // Not yet old: passes come and go without touching it.
      await new Promise((r) => setTimeout(r, 200));
      expect(await purgedRow(h, batchId)).toBe(false);
      await age(h, [batchId], RETENTION_DAYS + 1);
      await eventually(() => purgedRow(h, batchId));
    } finally {
      await loop.stop();
      await h.close();
    }
  });

  it('runs on schedule through a BullMQ job scheduler with Redis', async () => {
    const prefix = `test-retention-${randomBytes(4).toString('hex')}`;
    const h = await startHarness({ label: 'retention_bullmq', retentionDays: RETENTION_DAYS });
    const job = await startRetentionWorker(h.service, { intervalMs: 100, redisUrl: REDIS_URL, prefix });
    const queue = new Queue(RETENTION_QUEUE, { connection: { url: REDIS_URL }, prefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => Number(s.every))).toEqual([100]);
      const batchId = await cancelledBatch(h, await h.teacher(TEACHER), personal(tagged()));
      await age(h, [batchId], RETENTION_DAYS + 1);
      await eventually(() => purgedRow(h, batchId));
      // The job's runs are on the queue with what they purged.
      await eventually(async () => (await queue.getCompleted()).some((j) => (j.returnvalue as { purged: number }).purged > 0));
    } finally {
      await queue.close();
      await job.close();
      await h.close();
      await dropRedisKeys(REDIS_URL, prefix);
    }
  });
});
