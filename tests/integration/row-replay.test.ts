import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Service, createService } from '../../app/service.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import type { ClassFixture } from '../../bench/events.ts';
import { cloneBatches, createClasses, makeTemplate, settleUnknownStudents } from '../../bench/fixtures.ts';
import {
  type CapturedEvent,
  type TableInfo,
  type WrittenRow,
  captureMix,
  captureSteps,
  captureTimeout,
  compile,
  prepareBurst,
  rowsOperation,
} from '../../bench/row-replay.ts';
import { databaseForSuite } from '../support/db.ts';

/**
 * P-rows and P-burst (bench/row-replay.ts) claim to write what the service writes, without our
 * code: per event and per table the same rows inserted, updated and deleted, with the same content
 * (ids aside) and the same stored bytes. Both sides are measured the same way: every table read
 * before and after each step.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** A written row with its ids and database-assigned columns (identity) blanked, comparable across batches. */
function normalised(tables: TableInfo[], table: string, { json }: WrittenRow): string {
  const info = tables.find((t) => t.name === table)!;
  const row = JSON.parse(json) as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(row).filter(([k]) => info.writable.includes(k)));
  return JSON.stringify(kept).replace(UUID, 'U');
}

function keyOnly(tables: TableInfo[], table: string, { json }: WrittenRow): string {
  const info = tables.find((t) => t.name === table)!;
  const row = JSON.parse(json) as Record<string, unknown>;
  return JSON.stringify(info.key.map((k) => row[k])).replace(UUID, 'U');
}

/** Per table: the sorted normalised rows of each kind. */
function summary(tables: TableInfo[], event: CapturedEvent) {
  return Object.fromEntries(
    event.writes.map((w) => [
      w.table,
      {
        inserted: w.inserted.map((r) => normalised(tables, w.table, r)).sort(),
        updated: w.updated.map((r) => normalised(tables, w.table, r)).sort(),
        // A delete names its rows by key; what they held before is the batch's own.
        deleted: w.deleted.map((r) => keyOnly(tables, w.table, r)).sort(),
      },
    ]),
  );
}

/** The same stored bytes per table, within 3 %: a compressed snapshot full of fresh random ids compresses a little differently. */
function expectSameBytes(replayed: CapturedEvent, real: CapturedEvent, times = 1) {
  expect([...replayed.bytes.keys()].sort(), real.label).toEqual([...real.bytes.keys()].sort());
  for (const [table, bytes] of real.bytes) {
    expect(Math.abs(replayed.bytes.get(table)! - bytes * times), `${real.label}: ${table}`).toBeLessThanOrEqual(bytes * times * 0.03);
  }
}

const repeated = (s: ReturnType<typeof summary>, times: number) =>
  Object.fromEntries(
    Object.entries(s).map(([table, v]) => [
      table,
      {
        inserted: v.inserted.flatMap((r) => Array(times).fill(r)).sort(),
        updated: v.updated.flatMap((r) => Array(times).fill(r)).sort(),
        deleted: v.deleted.flatMap((r) => Array(times).fill(r)).sort(),
      },
    ]),
  );

describe('the bench replays the rows the service writes', () => {
  const suite = databaseForSuite('row_replay');
  let database: Database;
  let sql: postgres.Sql;
  let service: Service;
  let cls: ClassFixture | undefined;

  beforeAll(async () => {
    database = await openDatabase({ url: suite.url, dataDir: 'memory://', poolSize: 4 });
    sql = postgres(suite.url, { max: 4, onnotice: () => {} });
    service = createService({ db: database.db, validationTimeoutMs: 86_400_000 });
    [cls] = await createClasses(service, 1, 30);
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await database?.close();
  });

  for (const essays of [4, 30]) {
    it(`P-rows writes each event's rows of the mix at ${essays} essays, table by table`, async () => {
      const template = await makeTemplate(service, cls!, 'registered', essays);
      const real = await captureMix(sql, service, template, essays);
      // The capture sees the writes it must: each event moves the batch snapshot and adds one history row,
      // the suggestions insert one association row (its snapshot in it) per essay, and nothing else holds associations.
      for (const event of real.events) {
        expect(event.writes.find((w) => w.table === 'actor_snapshots')?.updated, event.label).toHaveLength(1);
        expect(event.writes.find((w) => w.table === 'history')?.inserted, event.label).toHaveLength(1);
      }
      const suggestions = real.events[1]!.writes;
      expect(suggestions.find((w) => w.table === 'essay_student_associations')?.inserted).toHaveLength(essays);
      expect(
        suggestions.find((w) => w.table === 'essay_student_associations')?.inserted.every((r) => JSON.parse(r.json).snapshot !== null),
      ).toBe(true);

      const events = compile(real);
      const [copy] = await cloneBatches(sql, [template], 1);
      const op = rowsOperation(sql, real, events, { take: async () => copy! });
      const replayed = await captureSteps(
        sql,
        events.map((e) => ({ label: e.label, run: () => op(0) })),
      );
      expect(replayed.events.map((e) => e.label)).toEqual(real.events.map((e) => e.label));
      real.events.forEach((event, i) => {
        expect(summary(replayed.tables, replayed.events[i]!), event.label).toEqual(summary(real.tables, event));
        expectSameBytes(replayed.events[i]!, event);
      });
    });
  }

  it('P-burst writes the rows of each timed-out batch, table by table', async () => {
    await settleUnknownStudents(service, [cls!], 4);
    const template = await makeTemplate(service, cls!, 'awaiting_teacher', 4);
    const real = await captureTimeout(sql, service, template);
    expect(real.events[0]!.writes.find((w) => w.table === 'deadlines')?.deleted).toHaveLength(1);
    const burst = await prepareBurst(sql, real, 3, { burstSize: 2, lanes: 2 });
    const replayed = await captureSteps(sql, [{ label: 'P-burst', run: async () => void (await burst.run()) }]);
    expect(summary(replayed.tables, replayed.events[0]!)).toEqual(repeated(summary(real.tables, real.events[0]!), 3));
    expectSameBytes(replayed.events[0]!, real.events[0]!, 3);
  });
});
