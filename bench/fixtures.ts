import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { validationTimeout } from '../app/commands.ts';
import type { Service } from '../app/service.ts';
import { InboundEnvelope } from '../machines/events.ts';
import type { CourseCode } from '../machines/domain.ts';
import { type ClassFixture, type EssayRef, authorMatchesSuggested, contentProvisioned, freshEssays } from './events.ts';

/**
 * Batches in a given state, many of them, fast. One template per class is walked through the real
 * application layer; its rows are then copied with fresh batch and essay ids in bulk SQL. Setting
 * up 10 000 batches that way takes about a second instead of 30 000 applied events.
 */

const COURSES: CourseCode[] = ['ENG5', 'ENG6', 'SV2', 'SV3'];

export async function createClasses(service: Service, count: number, studentsPerClass: number): Promise<ClassFixture[]> {
  const classes: ClassFixture[] = [];
  for (let i = 0; i < count; i++) {
    const ownerId = `bench-teacher-${i % 4}`;
    const courseCode = COURSES[i % COURSES.length]!;
    const created = await service.createClass(ownerId, { name: `Bench class ${i}`, course_code: courseCode });
    const students = Array.from({ length: studentsPerClass }, (_, j) => ({
      first_name: `First${j}`,
      last_name: `Last${j}`,
      email: `s${j}.c${i}.${created.id.slice(0, 8)}@school.example`,
    }));
    const added = await service.addStudents(ownerId, created.id, students);
    if (added.kind !== 'added') throw new Error(`bench fixture: could not add students (${added.kind})`);
    classes.push({ classId: created.id, ownerId, courseCode, studentIds: added.students.map((s) => s.id) });
  }
  return classes;
}

export type TemplateStage = 'registered' | 'provisioned' | 'awaiting_teacher';

export interface Template {
  batchId: string;
  cls: ClassFixture;
  essays: EssayRef[];
}

async function applyInbound(service: Service, raw: unknown): Promise<void> {
  const outcome = await service.applyInbound(InboundEnvelope.parse(raw));
  if (outcome.kind !== 'applied') throw new Error(`bench fixture: event not applied (${JSON.stringify(outcome)})`);
}

/** One batch of `cls` walked to `stage` through the application layer. */
export async function makeTemplate(service: Service, cls: ClassFixture, stage: TemplateStage, essaysPerBatch: number): Promise<Template> {
  const registered = await service.registerBatch(
    cls.ownerId,
    { course_code: cls.courseCode, class_id: cls.classId, expected_essay_count: essaysPerBatch },
    randomUUID(),
  );
  if (registered.kind !== 'registered') throw new Error(`bench fixture: batch not registered (${registered.kind})`);
  const batchId = registered.batch.batch_id;
  const essays = stage === 'registered' ? [] : freshEssays(essaysPerBatch);
  if (stage !== 'registered') await applyInbound(service, contentProvisioned(batchId, cls, essays));
  if (stage === 'awaiting_teacher') await applyInbound(service, authorMatchesSuggested(batchId, cls, essays));
  return { batchId, cls, essays };
}

/**
 * Times out one batch per class, one class at a time, so every class has its UNKNOWN student
 * before a burst: the steady state of a class that has seen a deadline. (The first timeouts of a
 * class racing to create that student is a correctness matter, not a throughput one.)
 */
export async function settleUnknownStudents(service: Service, classes: ClassFixture[], essaysPerBatch: number): Promise<void> {
  for (const cls of classes) {
    const template = await makeTemplate(service, cls, 'awaiting_teacher', essaysPerBatch);
    // A fixture decides now, before the deadline: an unbounded skew lets the deadline guard pass it.
    const outcome = await service.apply(validationTimeout(template.batchId, 1, 'sweep', Number.POSITIVE_INFINITY));
    if (outcome.kind !== 'applied') throw new Error(`bench fixture: timeout not applied (${outcome.kind})`);
  }
}

interface TemplateRows {
  template: Template;
  batch: string;
  snapshot: string;
  /** The association rows, their snapshots included. */
  associations: string[];
  deadline: string | null;
  /** Every id that must be fresh in a copy. */
  ids: string[];
}

async function jsonRows(sql: postgres.Sql, query: string, param: string): Promise<string[]> {
  const found = await sql.unsafe<Array<{ row: string }>>(query, [param]);
  return found.map((r) => r.row);
}

/** The template's rows as JSON text; a due instant, when given, replaces the template's own. */
async function readTemplate(sql: postgres.Sql, template: Template, dueAt: string | null): Promise<TemplateRows> {
  const [batch] = await jsonRows(sql, 'SELECT to_jsonb(b)::text AS row FROM batches b WHERE batch_id = $1', template.batchId);
  const [snapshot] = await jsonRows(
    sql,
    'SELECT to_jsonb(s)::text AS row FROM actor_snapshots s WHERE actor_id = $1',
    `batch:${template.batchId}`,
  );
  const associations = await jsonRows(
    sql,
    'SELECT to_jsonb(a)::text AS row FROM essay_student_associations a WHERE batch_id = $1',
    template.batchId,
  );
  const [deadline] = await jsonRows(sql, 'SELECT to_jsonb(d)::text AS row FROM deadlines d WHERE batch_id = $1', template.batchId);
  if (!batch || !snapshot) throw new Error(`bench fixture: template batch ${template.batchId} has no rows`);
  const overrideDue = (text: string, path: (row: any) => any, field: string) => {
    const row = JSON.parse(text);
    path(row)[field] = dueAt;
    return JSON.stringify(row);
  };
  return {
    template,
    batch: dueAt ? overrideDue(batch, (r) => r, 'due_at') : batch,
    snapshot: dueAt ? overrideDue(snapshot, (r) => r.snapshot.context.deadline, 'due_at') : snapshot,
    associations,
    deadline: deadline && dueAt ? overrideDue(deadline, (r) => r, 'due_at') : (deadline ?? null),
    ids: [template.batchId, ...template.essays.map((e) => e.essay_id), ...associations.map((a) => JSON.parse(a).id as string)],
  };
}

function insertRows(sql: postgres.Sql | postgres.TransactionSql, table: string, rows: string[]) {
  if (rows.length === 0) return Promise.resolve();
  return sql.unsafe(`INSERT INTO ${table} SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::text::jsonb)`, [
    `[${rows.join(',')}]`,
  ]);
}

const CHUNK = 500;

export interface BatchCopy {
  batchId: string;
  cls: ClassFixture;
  essays: EssayRef[];
  /** The ids the copy was made with: each template id (shared array) and the copy's id in its place. */
  ids: { template: string[]; copy: string[] };
}

/**
 * Copies templates `count` times in all, spread over the templates in turn. Returns the new batch
 * ids with their template. `dueAt` gives every copy's deadline that instant.
 */
export async function cloneBatches(
  sql: postgres.Sql,
  templates: Template[],
  count: number,
  dueAt: string | null = null,
): Promise<BatchCopy[]> {
  const sources = await Promise.all(templates.map((t) => readTemplate(sql, t, dueAt)));
  const made: BatchCopy[] = [];
  for (let start = 0; start < count; start += CHUNK) {
    const batches: string[] = [];
    const snapshots: string[] = [];
    const associations: string[] = [];
    const deadlines: string[] = [];
    for (let i = start; i < Math.min(count, start + CHUNK); i++) {
      const source = sources[i % sources.length]!;
      const fresh = source.ids.map(() => randomUUID());
      const copy = (text: string) => source.ids.reduce((out, id, k) => out.replaceAll(id, fresh[k]!), text);
      batches.push(copy(source.batch));
      snapshots.push(copy(source.snapshot));
      for (const a of source.associations) associations.push(copy(a));
      if (source.deadline) deadlines.push(copy(source.deadline));
      const essays = source.template.essays.map((e, k) => ({ essay_id: fresh[k + 1]!, text_storage_id: e.text_storage_id }));
      made.push({ batchId: fresh[0]!, cls: source.template.cls, essays, ids: { template: source.ids, copy: fresh } });
    }
    await sql.begin(async (tx) => {
      await insertRows(tx, 'batches', batches);
      await insertRows(tx, 'actor_snapshots', snapshots);
      await insertRows(tx, 'essay_student_associations', associations);
      await insertRows(tx, 'deadlines', deadlines);
    });
  }
  return made;
}
