import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Service, createService } from '../../app/service.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { type DbosRig, startDbos } from '../../bench/dbos-points.ts';
import type { ClassFixture } from '../../bench/events.ts';
import { cloneBatches, createClasses, makeTemplate } from '../../bench/fixtures.ts';
import { directTransport, eventMix } from '../../bench/mix.ts';
import { databaseForSuite } from '../support/db.ts';
import { DATABASE_URL } from '../support/env.ts';

/**
 * The bench's DBOS flow (bench/dbos-flow.ts) stands for the service only if it does the same work:
 * walked through the same event mix, one batch emits the same outbound messages, in the same order,
 * with the same bodies (ids and timestamps aside), as the service's outbox holds for its batch.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})/g;
type Listed = { essay_id: string };
type Envelope = { data: { essays_to_process?: Listed[]; associations?: Listed[]; payload?: { associations?: Listed[] } } };

/**
 * Ids and instants blanked; a message's list of associations in the batch's essay order (`order`:
 * each essay's place in the matching command), since the service lists them in its stored order.
 */
function normalised(envelope: Envelope, order: Map<string, number>) {
  const byEssay = (list?: Listed[]) => list?.sort((a, b) => order.get(a.essay_id)! - order.get(b.essay_id)!);
  byEssay(envelope.data.associations);
  byEssay(envelope.data.payload?.associations);
  return JSON.stringify(envelope).replace(UUID, 'U').replace(INSTANT, 'T');
}
type Row = { topic: string; envelope: Envelope };
const essayOrder = (rows: Row[]) => new Map(rows[0]!.envelope.data.essays_to_process!.map((e, i) => [e.essay_id, i]));

describe('the DBOS flow of the bench', () => {
  const suite = databaseForSuite('dbos_flow');
  let database: Database;
  let sql: postgres.Sql;
  let service: Service;
  let cls: ClassFixture;
  let dbos: DbosRig;

  beforeAll(async () => {
    database = await openDatabase({ url: suite.url, dataDir: 'memory://', poolSize: 4 });
    sql = postgres(suite.url, { max: 2, onnotice: () => {} });
    service = createService({ db: database.db, validationTimeoutMs: 86_400_000 });
    [cls] = (await createClasses(service, 1, 30)) as [ClassFixture];
    const benchDatabase = new URL(suite.url).pathname.slice(1);
    dbos = await startDbos({
      adminUrl: DATABASE_URL,
      benchDatabase,
      systemDatabase: `${benchDatabase}_dbos`,
      classes: [cls],
      serviceToken: 'unused',
      jwtSecret: 'unused',
      prepare: true,
      clients: 1,
      log: () => {},
    });
  }, 60_000);
  afterAll(async () => {
    await dbos?.close();
    await sql?.end({ timeout: 5 });
    await database?.close();
  });

  for (const essays of [4, 30]) {
    it(`emits what the service emits for one batch of ${essays} essays, in order`, async () => {
      const template = await makeTemplate(service, cls, 'registered', essays);
      const [copy] = await cloneBatches(sql, [template], 1);
      const serviceWalk = eventMix({ take: async () => copy! }, directTransport(service), essays);
      const pool = dbos.pool(essays);
      await pool.ensure(1);
      const dbosBatch = await pool.take();
      const dbosWalk = eventMix({ take: async () => dbosBatch }, dbos.transport, essays);
      for (let step = 0; step < 5; step++) {
        await serviceWalk(0);
        await dbosWalk(0);
      }
      const theirs = await sql<Row[]>`
        SELECT topic, envelope FROM outbox_messages WHERE batch_id = ${copy!.batchId} ORDER BY seq, idx`;
      const ours = await sql<Row[]>`
        SELECT topic, envelope FROM dbos_outbox WHERE partition_key = ${dbosBatch.batchId} ORDER BY id`;
      expect(ours.map((r) => r.topic)).toEqual(theirs.map((r) => r.topic));
      expect(ours.length).toBe(essays + 4);
      ours.forEach((row, i) =>
        expect(normalised(row.envelope, essayOrder(ours)), row.topic).toBe(normalised(theirs[i]!.envelope, essayOrder(theirs))),
      );
      const [state] = await sql<Array<{ state: string }>>`SELECT state FROM dbos_batches WHERE batch_id = ${dbosBatch.batchId}`;
      expect(state?.state).toBe('ready_for_pipeline');
    }, 60_000);
  }
});
