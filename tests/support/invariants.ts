import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { auditBatch, auditEveryBatch } from '../../app/audit.ts';
import type { Service } from '../../app/service.ts';
import { type Db, rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import type { Harness } from './harness.ts';

/**
 * Invariants of one batch, read through the application's own read side plus the outbox table,
 * checked after every step by the property tests (and meant for the model tests' oracle). Each
 * check returns the violations as sentences, so a failure says what broke; [] means all hold.
 * The rules are written from the domain, not taken from the code under test.
 */

export interface OutboxFact {
  topic: string;
  correlation_id: string;
  envelope: { correlation_id: string; data: Record<string, any> };
}

export interface BatchFacts {
  batch: NonNullable<Awaited<ReturnType<Service['getBatch']>>>;
  associations: NonNullable<Awaited<ReturnType<Service['listAssociations']>>>;
  history: NonNullable<Awaited<ReturnType<Service['history']>>>;
  outbox: OutboxFact[];
}

/** States at or after the end of student validation, on the way to a pipeline (not cancelled). */
const VALIDATED_STATES = ['student_validation_completed', 'ready_for_pipeline_execution'];
const READY_STATES = ['ready_for_pipeline_execution'];
const SETTLED = ['confirmed', 'rejected', 'timeout_confirmed', 'no_match'];
/** The wire value of `validated_by` for the deadline's decisions (common_core). */
const SYSTEM_TIMEOUT = 'SYSTEM_TIMEOUT';

export async function readBatchFacts(h: { service: Service; database: { db: Db } }, ownerId: string, batchId: string): Promise<BatchFacts> {
  const { service } = h;
  const [batch, associations, history] = await Promise.all([
    service.getBatch(ownerId, batchId),
    service.listAssociations(ownerId, batchId),
    service.history(ownerId, batchId),
  ]);
  if (!batch || !associations || !history) throw new Error(`batch ${batchId} of ${ownerId} not found`);
  const outbox = await rows<OutboxFact>(
    h.database.db,
    sql`SELECT topic, correlation_id, envelope FROM outbox_messages WHERE batch_id = ${batchId} ORDER BY seq, idx`,
  );
  return { batch, associations, history, outbox };
}

/** The confidence level as the original defines it: above 0.9 high, from 0.7 medium, else low. */
export function expectedConfidenceLevel(suggested: string | null, score: number | null): string {
  if (suggested === null || score === null) return 'no_match';
  if (score > 0.9) return 'high';
  if (score >= 0.7) return 'medium';
  return 'low';
}

export function batchInvariants(f: BatchFacts): string[] {
  const v: string[] = [];
  const { batch } = f;
  const pending = f.associations.filter((a) => a.validation_status === 'pending_validation');
  const count = (status: string) => f.associations.filter((a) => a.validation_status === status).length;

  if (batch.language !== (batch.course_code.startsWith('ENG') ? 'en' : 'sv')) v.push(`language ${batch.language} for ${batch.course_code}`);
  for (const status of ['pending', 'confirmed', 'rejected', 'timeout_confirmed', 'no_match'] as const) {
    const rowsOf = count(status === 'pending' ? 'pending_validation' : status);
    if (batch.validation[status] !== rowsOf) v.push(`validation.${status} is ${batch.validation[status]} but ${rowsOf} rows are ${status}`);
  }

  for (const a of f.associations) {
    const id = `association ${a.essay_id}`;
    if (a.confidence_level !== expectedConfidenceLevel(a.suggested_student_id, a.confidence_score)) {
      v.push(`${id}: confidence ${a.confidence_score} is ${a.confidence_level}`);
    }
    if (a.validation_status === 'pending_validation') {
      if (a.validation_method !== null || a.validated_by !== null || a.validated_at !== null) v.push(`${id}: pending but has a decision`);
      if (a.due_at !== batch.validation.due_at) v.push(`${id}: pending with due_at ${a.due_at}, batch ${batch.validation.due_at}`);
      if (a.due_at === null && batch.status !== 'cancelled' && batch.validation.paused === null)
        v.push(`${id}: pending without a deadline`);
      continue;
    }
    if (!SETTLED.includes(a.validation_status)) v.push(`${id}: unknown status ${a.validation_status}`);
    if (!a.validation_method || !a.validated_by || !a.validated_at) v.push(`${id}: settled without method, author and time`);
    // Exactly one decider: a teacher (human) or the deadline (timeout, SYSTEM_TIMEOUT).
    const byTeacher = a.validation_method === 'human' && a.validated_by !== SYSTEM_TIMEOUT;
    const byDeadline = a.validation_method === 'timeout' && a.validated_by === SYSTEM_TIMEOUT;
    if (byTeacher === byDeadline) v.push(`${id}: decided by ${a.validation_method}/${a.validated_by}`);
    const teacherStatus = ['confirmed', 'rejected'].includes(a.validation_status);
    if (teacherStatus !== byTeacher) v.push(`${id}: ${a.validation_status} but method ${a.validation_method}`);
    if (a.validation_status === 'rejected' && a.student_id !== null) v.push(`${id}: rejected but linked to ${a.student_id}`);
    if (['confirmed', 'timeout_confirmed', 'no_match'].includes(a.validation_status) && a.student_id === null)
      v.push(`${id}: ${a.validation_status} without a student`);
    if (a.validation_status === 'timeout_confirmed' && a.student_id !== a.suggested_student_id)
      v.push(`${id}: timeout kept another student than the suggestion`);
    if (a.validation_status === 'no_match') {
      const unknown = a.student?.name === 'UNKNOWN STUDENT' && a.student.email === `unknown.${batch.class_id}@huleedu.system`;
      if (!unknown) v.push(`${id}: no_match linked to ${JSON.stringify(a.student)}, not the class's UNKNOWN student`);
    }
  }

  const confirmations = f.outbox.filter((o) => o.topic === TOPICS.associationsConfirmed);
  if (confirmations.length > 1) v.push(`${confirmations.length} StudentAssociationsConfirmedV1 in the outbox`);
  if (VALIDATED_STATES.includes(batch.status)) {
    if (pending.length > 0) v.push(`${batch.state} with ${pending.length} associations pending`);
    if (f.associations.length > 0 && confirmations.length !== 1)
      v.push(`${batch.state} with ${confirmations.length} StudentAssociationsConfirmedV1`);
    if (batch.validation.due_at !== null) v.push(`${batch.state} with a pending deadline`);
  }
  if (confirmations.length === 1 && pending.length > 0) v.push('StudentAssociationsConfirmedV1 sent while associations are pending');
  if (batch.status === 'cancelled' && batch.validation.due_at !== null) v.push('cancelled with a pending deadline');
  if (batch.validation.paused !== null && batch.validation.due_at !== null) v.push('paused with a pending timeout');
  if (batch.validation.paused !== null && batch.state !== 'awaiting_student_validation.awaiting_teacher')
    v.push(`${batch.state} and paused`);

  const appliedTypes = f.history.filter((h) => h.outcome === 'applied').map((h) => h.event_type);
  const stored = batch.class_type === 'GUEST' ? TOPICS.contentProvisioned : TOPICS.essaysReady;
  if (READY_STATES.includes(batch.status) && !appliedTypes.includes(stored)) v.push(`${batch.state} before ${stored} was applied`);

  let last = 0;
  for (const h of f.history) {
    if (h.outcome === 'applied' ? h.version <= last : h.version !== last)
      v.push(`history version ${h.version} (${h.outcome}) after ${last}`);
    if (h.outcome === 'applied') last = h.version;
  }
  if (last !== batch.version) v.push(`last applied history version ${last}, batch version ${batch.version}`);

  for (const o of f.outbox) {
    const data = o.envelope.data;
    if (o.correlation_id !== batch.correlation_id || o.envelope.correlation_id !== batch.correlation_id)
      v.push(`${o.topic}: another correlation_id`);
    // Real models name the batch in `batch_id`, or (commands built on the base event) in `entity_id`.
    if (data.batch_id === undefined && data.entity_id === undefined) v.push(`${o.topic}: names no batch`);
    for (const key of ['batch_id', 'entity_id'] as const) {
      if (data[key] !== undefined && data[key] !== batch.batch_id) v.push(`${o.topic}: data.${key} ${data[key]}`);
    }
    if ('course_code' in data && data.course_code !== batch.course_code)
      v.push(`${o.topic}: course_code ${data.course_code} of a ${batch.course_code} batch`);
  }
  for (const c of confirmations) v.push(...confirmationViolations(c.envelope.data, asConfirmed(f)));
  v.push(...correctionViolations(f));
  return v;
}

interface Replaced {
  validation_status: string;
  student_id: string | null;
  validation_method: string | null;
  decided_by: string | null;
  decided_at: string | null;
}
type Corrected = { essay_id: string; replaced: Replaced; student_id: string; corrected_by: string; reason: string | null };

/** The applied corrections in the history, oldest first, each essay it corrected with the decision replaced. */
function correctionsOf(f: BatchFacts): Array<{ row: BatchFacts['history'][number]; corrected: Corrected[] }> {
  return f.history
    .filter((h) => h.outcome === 'applied' && h.event_type === 'TEACHER_CORRECTED')
    .map((row) => ({ row, corrected: ((row.detail as { corrected?: Corrected[] } | null)?.corrected ?? []) as Corrected[] }));
}

/**
 * The associations as StudentAssociationsConfirmedV1 announced them: a correction after it changes
 * the row, and the history keeps the decision it replaced (the first correction's is the one announced).
 */
function asConfirmed(f: BatchFacts): BatchFacts {
  const first = new Map<string, Replaced>();
  for (const { corrected } of correctionsOf(f)) for (const c of corrected) if (!first.has(c.essay_id)) first.set(c.essay_id, c.replaced);
  if (first.size === 0) return f;
  const associations = f.associations.map((a) => {
    const r = first.get(a.essay_id);
    if (!r) return a;
    return {
      ...a,
      validation_status: r.validation_status,
      student_id: r.student_id,
      validation_method: r.validation_method,
      validated_by: r.decided_by,
      validated_at: r.decided_at,
    } as typeof a;
  });
  return { ...f, associations };
}

/**
 * Corrections: only once validation is over and before any pipeline command, each recorded with
 * the decision it replaced, who corrected and to whom; the row says what the correction did, and
 * the last EssayStudentAssociationUpdatedV1 of every decided essay says what its row says.
 */
function correctionViolations(f: BatchFacts): string[] {
  const v: string[] = [];
  for (const { row, corrected } of correctionsOf(f)) {
    const where = `correction v${row.version}`;
    if (!['student_validation_completed', 'ready_for_pipeline_execution'].includes(String(row.from_state)))
      v.push(`${where} applied in ${row.from_state}`);
    if (corrected.length === 0) v.push(`${where} records no corrected essay`);
    for (const c of corrected) {
      if (!SETTLED.includes(c.replaced.validation_status)) v.push(`${where} ${c.essay_id}: replaced ${c.replaced.validation_status}`);
      if (c.replaced.student_id === c.student_id) v.push(`${where} ${c.essay_id}: corrected to the student it had`);
      if (c.corrected_by !== row.actor) v.push(`${where} ${c.essay_id}: corrected_by ${c.corrected_by}, actor ${row.actor}`);
    }
  }
  // Downstream reads the authors when a pipeline starts: no association update may follow a phase command.
  const firstCommand = f.outbox.findIndex((o) => o.topic === TOPICS.spellcheckCommand);
  if (firstCommand >= 0 && f.outbox.slice(firstCommand).some((o) => o.topic === TOPICS.associationUpdated))
    v.push('EssayStudentAssociationUpdatedV1 after the pipeline started');
  // The last announcement of each decided essay says what its row says.
  const lastUpdate = new Map<string, Record<string, any>>();
  for (const o of f.outbox) if (o.topic === TOPICS.associationUpdated) lastUpdate.set(o.envelope.data.essay_id, o.envelope.data);
  for (const a of f.associations) {
    if (a.validation_status === 'pending_validation') continue;
    const sent = lastUpdate.get(a.essay_id);
    if (!sent) continue;
    if (sent.student_id !== a.student_id || sent.association_method !== a.validation_method || sent.created_by_user_id !== a.validated_by)
      v.push(
        `association ${a.essay_id}: last update says ${sent.student_id}/${sent.association_method}/${sent.created_by_user_id}, row ${a.student_id}/${a.validation_method}/${a.validated_by}`,
      );
  }
  return v;
}

/** StudentAssociationsConfirmedV1 must say what the association rows say. */
function confirmationViolations(data: Record<string, any>, f: BatchFacts): string[] {
  const v: string[] = [];
  const byEssay = new Map(f.associations.map((a) => [a.essay_id, a]));
  const sent = data.associations as Array<Record<string, any>>;
  if (sent.length !== f.associations.length) v.push(`confirmation lists ${sent.length} of ${f.associations.length} associations`);
  for (const s of sent) {
    const a = byEssay.get(s.essay_id);
    if (!a) {
      v.push(`confirmation names unknown essay ${s.essay_id}`);
      continue;
    }
    for (const key of ['student_id', 'validation_method', 'validated_by'] as const) {
      if (s[key] !== a[key]) v.push(`confirmation ${s.essay_id}: ${key} ${s[key]}, row ${a[key]}`);
    }
    if (Date.parse(s.validated_at) !== Date.parse(a.validated_at!)) v.push(`confirmation ${s.essay_id}: validated_at differs`);
    const score = a.validation_status === 'no_match' ? 0 : (a.confidence_score ?? 0);
    if (s.confidence_score !== score) v.push(`confirmation ${s.essay_id}: confidence ${s.confidence_score}, expected ${score}`);
  }
  const byDeadline = f.associations.some((a) => a.validation_method === 'timeout');
  if (data.timeout_triggered !== byDeadline) v.push(`confirmation timeout_triggered ${data.timeout_triggered}`);
  const method = (m: string) => f.associations.filter((a) => a.validation_method === m).length;
  const expected = {
    total_associations: f.associations.length,
    confirmed: f.associations.filter((a) => a.validation_status === 'confirmed').length,
    rejected: f.associations.filter((a) => a.validation_status === 'rejected').length,
    timeout_confirmed: f.associations.filter((a) => a.validation_status === 'timeout_confirmed').length,
    no_match: f.associations.filter((a) => a.validation_status === 'no_match').length,
    human_validated: method('human'),
    timeout_validated: method('timeout'),
  };
  const summary = (data.validation_summary ?? {}) as Record<string, unknown>;
  const keys = new Set([...Object.keys(summary), ...Object.keys(expected)]);
  for (const key of keys) {
    const want = expected[key as keyof typeof expected];
    if (summary[key] !== want) v.push(`confirmation summary ${key} is ${summary[key]}, expected ${want}`);
  }
  return v;
}

/** A refused, duplicate or invalid step changes nothing a client can see, beyond a refusal's audit row. */
export function unchangedViolations(before: BatchFacts, after: BatchFacts): string[] {
  const v: string[] = [];
  if (after.batch.version !== before.batch.version) v.push(`version ${before.batch.version} → ${after.batch.version}`);
  if (after.batch.state !== before.batch.state) v.push(`state ${before.batch.state} → ${after.batch.state}`);
  if (after.batch.validation.due_at !== before.batch.validation.due_at) v.push('due_at moved');
  const applied = (f: BatchFacts) => f.history.filter((h) => h.outcome === 'applied').length;
  if (applied(after) !== applied(before)) v.push(`applied history rows ${applied(before)} → ${applied(after)}`);
  if (after.outbox.length !== before.outbox.length) v.push(`outbox rows ${before.outbox.length} → ${after.outbox.length}`);
  if (JSON.stringify(after.associations) !== JSON.stringify(before.associations)) v.push('associations changed');
  return v;
}

/** A settled association stays as it was decided: nobody decides it a second time. */
export function decidedOnceViolations(before: BatchFacts, after: BatchFacts): string[] {
  const now = new Map(after.associations.map((a) => [a.essay_id, a]));
  return before.associations
    .filter((a) => a.validation_status !== 'pending_validation')
    .filter((a) => JSON.stringify(now.get(a.essay_id)) !== JSON.stringify(a))
    .map((a) => `association ${a.essay_id} was ${a.validation_status} by ${a.validated_by} and changed again`);
}

/**
 * The audit (app/audit.ts) of one batch: replayed from its registration through the machines, it
 * must reproduce the stored history, outbox, snapshots and association rows. [] when it does.
 */
export async function auditViolations(h: { database: { db: Db } }, batchId: string): Promise<string[]> {
  const report = await auditBatch(h.database.db, batchId);
  if (report === null) return [`batch ${batchId}: not found by the audit`];
  return report.ok ? [] : [JSON.stringify(report)];
}

/** The audit of every batch in the database; each one not reproduced is a violation. */
export async function auditEveryBatchViolations(h: { database: { db: Db } }): Promise<{ audited: number; violations: string[] }> {
  const violations: string[] = [];
  let audited = 0;
  for await (const report of auditEveryBatch(h.database.db)) {
    audited++;
    if (!report.ok) violations.push(JSON.stringify(report));
  }
  return { audited, violations };
}

/**
 * Retention over every batch: each one its owner can still cancel is cancelled (with a free-text
 * reason), every finished one is made older than any period and purged, then every batch is audited
 * again. A purged batch must still replay to what is stored (docs/operations.md#retention).
 */
export async function purgeThenAuditEveryBatch(h: Harness): Promise<{ purged: number; audited: number; violations: string[] }> {
  const open = await rows<{ batch_id: string; owner_id: string }>(
    h.database.db,
    sql`SELECT batch_id::text AS batch_id, owner_id FROM batches WHERE state NOT IN ('cancelled', 'failed_critically', 'content_ingestion_failed')`,
  );
  const tokens = new Map<string, string>();
  for (const { batch_id, owner_id } of open) {
    if (!tokens.has(owner_id)) tokens.set(owner_id, await h.teacher(owner_id));
    // Refused where the batch no longer takes a cancellation (a pipeline was requested): it may still be finished.
    await h.api('POST', `/v1/batches/${batch_id}/cancel`, { token: tokens.get(owner_id)!, body: { reason: `cancelled by ${owner_id}` } });
  }
  await h.database.db.execute(sql`UPDATE batches SET updated_at = '2000-01-01T00:00:00Z'`);
  let purged = 0;
  for (;;) {
    const report = await h.service.purgeExpired({ retentionDays: 1, limit: 1000 });
    purged += report?.batches.length ?? 0;
    if (!report || report.remaining === 0) break;
  }
  return { purged, ...(await auditEveryBatchViolations(h)) };
}

/** Every batch in the database replays to what is stored, and there is at least one. */
export async function expectEveryBatchReplays(h: { database: { db: Db } }): Promise<void> {
  const { audited, violations } = await auditEveryBatchViolations(h);
  expect(violations).toEqual([]);
  expect(audited).toBeGreaterThan(0);
}

/**
 * The model tests' last two tests: every batch their paths created replays to what is stored, and
 * still does after every finished one is purged (registered in the calling describe).
 */
export function auditsEveryBatchAtTheEnd(harness: () => Harness): void {
  it('audits every batch the paths created: each replays to what is stored', async () => {
    await expectEveryBatchReplays(harness());
  });

  it('purges every finished batch the paths created, and each still replays to what is stored', async () => {
    const { purged, audited, violations } = await purgeThenAuditEveryBatch(harness());
    expect(violations).toEqual([]);
    expect(purged).toBeGreaterThan(0);
    expect(audited).toBeGreaterThanOrEqual(purged);
  });
}
