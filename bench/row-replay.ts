import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';
import type { Service } from '../app/service.ts';
import type { BurstResult } from './bullmq-baseline.ts';
import { type BatchCopy, type Template, cloneBatches } from './fixtures.ts';
import type { Operation } from './load.ts';
import { directTransport, eventMix, eventsPerBatch } from './mix.ts';

/**
 * P-rows and P-burst: the database work of the real service's writes, without our code. The rows
 * are not written down by hand: they are captured from the real service (every table of the
 * schema read before and after each event, a row whose `xmin` changed was written), then replayed
 * by prebuilt statements, one per table and kind of write, with fresh ids. Same tables, same
 * indexes, same rows, same bytes; only the ids (and identity columns) differ.
 */

export interface TableInfo {
  name: string;
  /** The primary key's columns (every column when a table has none). */
  key: string[];
  /** Columns a copy of a row names: all but identity and generated ones. */
  writable: string[];
}

/**
 * A row as `to_jsonb(row)::text` (to read it) and as its record literal `row::text`, which keeps
 * what JSON loses (a jsonb `null` is not an SQL NULL) and casts back to the table's row type exactly.
 */
export interface WrittenRow {
  json: string;
  record: string;
}

/** One table's rows a write touched: new ones, changed ones (after) and gone ones (before). */
export interface TableWrites {
  table: string;
  inserted: WrittenRow[];
  updated: WrittenRow[];
  deleted: WrittenRow[];
}

export interface CapturedEvent {
  label: string;
  writes: TableWrites[];
  /** Bytes of the written rows as stored (pg_column_size of the row; the row before, for a delete), by table. */
  bytes: Map<string, number>;
}

interface DumpedRow extends WrittenRow {
  xmin: string;
  size: number;
}
/** Every row of every table, by table and key. */
export type Dump = Map<string, Map<string, DumpedRow>>;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The schema's tables (the bench's own baseline tables left out), parents before the tables that reference them. */
export async function tableInfo(sql: postgres.Sql): Promise<TableInfo[]> {
  const columns = await sql<Array<{ table: string; column: string; assigned: boolean; key: boolean }>>`
    SELECT c.relname AS table, a.attname AS column, (a.attidentity <> '' OR a.attgenerated <> '') AS assigned,
      coalesce(a.attnum = ANY(i.indkey::int2[]), false) AS key
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
    WHERE c.relkind = 'r' AND c.relname NOT LIKE 'bench\\_%'
    ORDER BY c.relname, a.attnum`;
  const references = await sql<Array<{ child: string; parent: string }>>`
    SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE k.contype = 'f' AND k.conrelid <> k.confrelid`;
  const tables = new Map<string, TableInfo>();
  for (const c of columns) {
    const t = tables.get(c.table) ?? { name: c.table, key: [], writable: [] };
    tables.set(c.table, t);
    if (c.key) t.key.push(c.column);
    if (!c.assigned) t.writable.push(c.column);
  }
  for (const t of tables.values()) if (t.key.length === 0) t.key = [...t.writable];
  // Parents first (Kahn), so that inserts never precede the rows they reference.
  const ordered: TableInfo[] = [];
  const pending = new Set(tables.keys());
  while (pending.size > 0) {
    const ready = [...pending].filter((name) => !references.some((r) => r.child === name && r.parent !== name && pending.has(r.parent)));
    if (ready.length === 0) throw new Error(`row replay: a cycle of foreign keys among ${[...pending].join(', ')}`);
    for (const name of ready.sort()) {
      ordered.push(tables.get(name)!);
      pending.delete(name);
    }
  }
  return ordered;
}

const keyOf = (table: TableInfo, text: string) => {
  const row = JSON.parse(text) as Record<string, unknown>;
  return JSON.stringify(table.key.map((k) => row[k]));
};

export async function dumpTables(sql: postgres.Sql, tables: TableInfo[]): Promise<Dump> {
  const dump: Dump = new Map();
  for (const table of tables) {
    const found = await sql.unsafe<Array<{ x: string; j: string; r: string; s: number }>>(
      `SELECT xmin::text AS x, to_jsonb(t)::text AS j, t::text AS r, pg_column_size(t.*) AS s FROM ${quote(table.name)} t`,
    );
    dump.set(table.name, new Map(found.map((f) => [keyOf(table, f.j), { xmin: f.x, json: f.j, record: f.r, size: f.s }])));
  }
  return dump;
}

/** What happened between two dumps: a new key was inserted, a new `xmin` on a key is an update, a missing key a delete. */
export function diffDumps(tables: TableInfo[], before: Dump, after: Dump): TableWrites[] {
  const writes: TableWrites[] = [];
  for (const table of tables) {
    const was = before.get(table.name)!;
    const now = after.get(table.name)!;
    const w: TableWrites = { table: table.name, inserted: [], updated: [], deleted: [] };
    for (const [key, row] of now) {
      const old = was.get(key);
      const written = { json: row.json, record: row.record };
      if (!old) w.inserted.push(written);
      else if (old.xmin !== row.xmin) w.updated.push(written);
    }
    for (const [key, row] of was) if (!now.has(key)) w.deleted.push({ json: row.json, record: row.record });
    if (w.inserted.length + w.updated.length + w.deleted.length > 0) writes.push(w);
  }
  return writes;
}

/** Bytes of the rows a diff names, as stored (pg_column_size of the whole row), by table. */
export function writtenBytes(after: Dump, before: Dump, tables: TableInfo[], writes: TableWrites[]): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const w of writes) {
    const table = tables.find((t) => t.name === w.table)!;
    const size = (dump: Dump, row: WrittenRow) => dump.get(w.table)!.get(keyOf(table, row.json))!.size;
    const total =
      [...w.inserted, ...w.updated].reduce((n, row) => n + size(after, row), 0) + w.deleted.reduce((n, row) => n + size(before, row), 0);
    bytes.set(w.table, total);
  }
  return bytes;
}

/** Every id in a dump: the ids that existed before a capture are kept by its replays (classes, students, ...). */
function idsIn(dump: Dump): Set<string> {
  const ids = new Set<string>();
  for (const rows of dump.values()) for (const row of rows.values()) for (const id of row.record.match(UUID) ?? []) ids.add(id);
  return ids;
}

/** A batch the capture ran on and the ids it was copied with, template id -> copy id. */
const idPairs = (copy: BatchCopy): Map<string, string> => new Map(copy.ids.template.map((t, i) => [t, copy.ids.copy[i]!]));

export interface Capture {
  tables: TableInfo[];
  /** The batch the capture wrote, a copy of `template`. */
  source: BatchCopy;
  template: Template;
  /** Ids that existed before the capture and are not the source batch's own: replays keep them. */
  kept: Set<string>;
  events: CapturedEvent[];
}

/** Runs `steps` with a dump of every table before and after each; nothing else may write meanwhile. */
export async function captureSteps(
  sql: postgres.Sql,
  steps: Array<{ label: string; run: () => Promise<void> }>,
): Promise<{ tables: TableInfo[]; before: Dump; events: CapturedEvent[] }> {
  const tables = await tableInfo(sql);
  const first = await dumpTables(sql, tables);
  let before = first;
  const events: CapturedEvent[] = [];
  for (const step of steps) {
    await step.run();
    const after = await dumpTables(sql, tables);
    const writes = diffDumps(tables, before, after);
    events.push({ label: step.label, writes, bytes: writtenBytes(after, before, tables, writes) });
    before = after;
  }
  return { tables, before: first, events };
}

async function capture(
  sql: postgres.Sql,
  template: Template,
  source: BatchCopy,
  steps: Array<{ label: string; run: () => Promise<void> }>,
): Promise<Capture> {
  const { tables, before, events } = await captureSteps(sql, steps);
  const kept = idsIn(before);
  for (const id of source.ids.copy) kept.delete(id);
  return { tables, source, template, kept, events };
}

export const MIX_EVENTS = ['CONTENT_PROVISIONED', 'AUTHOR_MATCHES_SUGGESTED', 'teacher sitting 1', 'teacher sitting 2', 'ESSAYS_READY'];

/** The rows each event of the two-sittings mix writes, from one copy of a registered `template` walked by the real service. */
export async function captureMix(sql: postgres.Sql, service: Service, template: Template, essays: number): Promise<Capture> {
  const [source] = await cloneBatches(sql, [template], 1);
  const walk = eventMix({ take: async () => source! }, directTransport(service), essays);
  const count = eventsPerBatch('two-sittings', essays);
  if (count !== MIX_EVENTS.length) throw new Error(`row replay: the mix has ${count} events, expected ${MIX_EVENTS.length}`);
  return capture(
    sql,
    template,
    source!,
    MIX_EVENTS.map((label) => ({ label, run: () => walk(0) })),
  );
}

/**
 * The rows one deadline writes when it times out in a burst, from one copy of an awaiting-teacher
 * `template` fired by the real sweep path (its claim folded in: the deadline row is gone after).
 */
export async function captureTimeout(sql: postgres.Sql, service: Service, template: Template): Promise<Capture> {
  const [source] = await cloneBatches(sql, [template], 1, new Date(Date.now() - 60_000).toISOString());
  return capture(sql, template, source!, [
    {
      label: 'VALIDATION_TIMEOUT',
      async run() {
        const fired = await service.fireDueDeadlines({ limit: 10, leaseMs: 60_000 });
        const result = fired.length === 1 && fired[0]!.batch_id === source!.batchId ? fired[0]!.result : null;
        if (!result || !('outcome' in result) || result.outcome.kind !== 'applied') {
          throw new Error(`row replay: expected one applied timeout of ${source!.batchId}, got ${JSON.stringify(fired).slice(0, 300)}`);
        }
      },
    },
  ]);
}

/** A statement with one parameter: the rows as a JSON array, ids as slots filled per copy. */
interface CompiledStatement {
  table: string;
  kind: 'insert' | 'update' | 'delete';
  text: string;
  rows: number;
  /** The rows' text cut at each id: parts[0] id[0] parts[1] ... */
  parts: string[];
  slots: string[];
}

export interface CompiledEvent {
  label: string;
  statements: CompiledStatement[];
}

function statementText(table: TableInfo, kind: CompiledStatement['kind']): string {
  const t = quote(table.name);
  // The parameter is a JSON array of record literals, each cast once to the table's row type.
  const rows = `WITH v AS MATERIALIZED (SELECT x::${t} AS r FROM jsonb_array_elements_text($1::text::jsonb) x)`;
  const field = (c: string) => `(v.r).${quote(c)}`;
  if (kind === 'insert')
    return `${rows} INSERT INTO ${t} (${table.writable.map(quote).join(', ')}) SELECT ${table.writable.map(field).join(', ')} FROM v`;
  const match = table.key.map((k) => `t.${quote(k)} = ${field(k)}`).join(' AND ');
  // The key list lets the planner probe the primary key instead of hash-joining a scan (db/transition-writers.ts).
  const probe = `t.${quote(table.key[0]!)} = ANY(ARRAY(SELECT ${field(table.key[0]!)} FROM v))`;
  if (kind === 'delete') return `${rows} DELETE FROM ${t} t USING v WHERE ${match} AND ${probe}`;
  const set = table.writable.filter((c) => !table.key.includes(c));
  const assignments = (set.length > 0 ? set : table.key).map((c) => `${quote(c)} = ${field(c)}`).join(', ');
  return `${rows} UPDATE ${t} t SET ${assignments} FROM v WHERE ${match} AND ${probe}`;
}

function cut(rows: WrittenRow[]): { parts: string[]; slots: string[] } {
  const text = rows.map((r) => JSON.stringify(r.record)).join(',');
  return { parts: text.split(UUID), slots: text.match(UUID) ?? [] };
}

/** One event's statements: inserts and updates parents first, then deletes children first. */
export function compile(capture: Capture): CompiledEvent[] {
  const byName = new Map(capture.tables.map((t) => [t.name, t]));
  return capture.events.map((event) => {
    const statements: CompiledStatement[] = [];
    for (const w of event.writes) {
      const table = byName.get(w.table)!;
      for (const kind of ['insert', 'update'] as const) {
        const rows = kind === 'insert' ? w.inserted : w.updated;
        if (rows.length > 0) statements.push({ table: w.table, kind, text: statementText(table, kind), rows: rows.length, ...cut(rows) });
      }
    }
    for (const w of [...event.writes].reverse()) {
      if (w.deleted.length > 0)
        statements.push({
          table: w.table,
          kind: 'delete',
          text: statementText(byName.get(w.table)!, 'delete'),
          rows: w.deleted.length,
          ...cut(w.deleted),
        });
    }
    return { label: event.label, statements };
  });
}

/** Ids of one replayed batch: the source's ids become the copy's, kept ids stay, any other id is fresh. */
function idMapper(capture: Capture, copy: BatchCopy) {
  const toCopy = idPairs(copy);
  const mapped = new Map<string, string>();
  for (const [template, source] of idPairs(capture.source)) mapped.set(source, toCopy.get(template)!);
  return (id: string) => {
    let to = mapped.get(id);
    if (to === undefined) {
      to = capture.kept.has(id) ? id : randomUUID();
      mapped.set(id, to);
    }
    return to;
  };
}

function fill(s: CompiledStatement, map: (id: string) => string): string {
  let out = s.parts[0]!;
  for (let i = 0; i < s.slots.length; i++) out += map(s.slots[i]!) + s.parts[i + 1]!;
  return out;
}

const READ = 'SELECT version, snapshot FROM actor_snapshots WHERE actor_id = $1 FOR UPDATE';
/**
 * Named prepared statements, as the project's own queries ask for them (db/client.ts); a client
 * made with `prepare: false` (DATABASE_PREPARED_STATEMENTS=off) overrides this, for both alike.
 */
const PREPARED = { prepare: true };

function expectCount(s: CompiledStatement, result: { count: number }, what: string) {
  if (result.count !== s.rows) throw new Error(`${what}: ${s.kind} of ${s.table} wrote ${result.count} rows, expected ${s.rows}`);
}

/** A source of copies of the captured template: a BatchPool of that template alone. */
export interface CopySource {
  take(): Promise<BatchCopy>;
}

/**
 * P-rows: each operation is one event of the mix as the database sees it: in one transaction, the
 * batch snapshot read FOR UPDATE (as P3 reads its row), then the event's statements pipelined.
 * Each client walks its own copies through the captured events in order.
 */
export function rowsOperation(sql: postgres.Sql, capture: Capture, events: CompiledEvent[], copies: CopySource): Operation {
  const walks = new Map<number, { copy: BatchCopy; map: (id: string) => string; step: number }>();
  return async (client) => {
    let walk = walks.get(client);
    if (!walk || walk.step === events.length) {
      const copy = await copies.take();
      walk = { copy, map: idMapper(capture, copy), step: 0 };
      walks.set(client, walk);
    }
    const event = events[walk.step++]!;
    const { map, copy } = walk;
    const params = event.statements.map((s) => `[${fill(s, map)}]`);
    await sql.begin(async (tx) => {
      await tx.unsafe(READ, [`batch:${copy.batchId}`], PREPARED);
      const results = await Promise.all(event.statements.map((s, i) => tx.unsafe(s.text, [params[i]!], PREPARED)));
      event.statements.forEach((s, i) => expectCount(s, results[i]!, `P-rows ${event.label}`));
    });
  };
}

/**
 * P-burst: the rows of `count` timed-out batches (copies of the captured template), written by the
 * bare set statements in transactions of `burstSize` batches, `lanes` at a time, as the sweep
 * bursts them (app/service.ts). The copies and the statements' parameters are made before `run`,
 * so its clock covers the writes alone.
 */
export async function prepareBurst(
  sql: postgres.Sql,
  capture: Capture,
  count: number,
  options: { burstSize?: number; lanes?: number } = {},
): Promise<{ run(): Promise<BurstResult> }> {
  const [event] = compile(capture);
  if (!event || capture.events.length !== 1) throw new Error('P-burst: the capture must hold one timeout');
  const size = options.burstSize ?? 100;
  // A far-future deadline: nothing fires these copies; the replay deletes their deadline rows.
  const later = new Date(Date.UTC(2100, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString();
  const copies = await cloneBatches(sql, [capture.template], count, later);
  const bursts: Array<{ batches: number; params: string[] }> = [];
  for (let start = 0; start < copies.length; start += size) {
    const maps = copies.slice(start, start + size).map((c) => idMapper(capture, c));
    bursts.push({ batches: maps.length, params: event.statements.map((s) => `[${maps.map((m) => fill(s, m)).join(',')}]`) });
  }
  return {
    async run() {
      const latencies: number[] = [];
      const t0 = performance.now();
      let next = 0;
      const lanes = Array.from({ length: Math.min(options.lanes ?? 4, bursts.length) }, async () => {
        while (next < bursts.length) {
          const { batches, params } = bursts[next++]!;
          await sql.begin(async (tx) => {
            const results = await Promise.all(event.statements.map((s, k) => tx.unsafe(s.text, [params[k]!], PREPARED)));
            event.statements.forEach((s, k) => {
              if (results[k]!.count !== s.rows * batches)
                throw new Error(`P-burst: ${s.kind} of ${s.table} wrote ${results[k]!.count} rows, expected ${s.rows * batches}`);
            });
          });
          const at = performance.now() - t0;
          for (let b = 0; b < batches; b++) latencies.push(at);
        }
      });
      await Promise.all(lanes);
      const totalMs = performance.now() - t0;
      return { ops: count, elapsedMs: totalMs, latencies, totalMs };
    },
  };
}

/** Rows per table and kind of one captured event, e.g. `outbox +3, actor_snapshots ~1, deadlines -1`. */
export function describeEvent(event: CapturedEvent): string {
  return event.writes
    .map((w) =>
      [w.inserted.length && `+${w.inserted.length}`, w.updated.length && `~${w.updated.length}`, w.deleted.length && `-${w.deleted.length}`]
        .filter(Boolean)
        .map((n) => `${w.table} ${n}`)
        .join(', '),
    )
    .join(', ');
}
