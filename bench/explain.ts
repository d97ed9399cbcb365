import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { createService } from '../app/service.ts';
import { type Db, openDatabase } from '../db/client.ts';
import * as schema from '../db/schema.ts';
import { benchDatabaseUrl, dropDatabase, resetDatabase } from './database.ts';
import { cloneBatches, createClasses, makeTemplate, settleUnknownStudents } from './fixtures.ts';
import { BatchPool, directTransport, eventMix, eventsPerBatch } from './mix.ts';

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the write statement of each event of the mix, at each batch size:
 * every `WITH snap AS (...)` the application sends is first run under EXPLAIN ANALYZE inside a
 * savepoint (or a transaction) that is rolled back, then for real. Prints per event the total
 * execution time and the CTE nodes that cost most. Then the same for the set statement of one
 * deadline burst of BURST batches of 4 essays (`WITH w AS (...)`, db/transition-writers.ts) and of its read (db/burst.ts).
 *   node --import tsx bench/explain.ts [essays...]     (default 4 30; BURST=100)
 */

type Plan = { event: string; essays: number; text: string };

const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const databaseName = 'huleedu_bench_explain';
const sizes = process.argv.slice(2).map(Number);
const plans: Plan[] = [];
let current = { event: '', essays: 0 };

async function explainThenRun(tx: postgres.Sql | postgres.TransactionSql, inTransaction: boolean, text: string, params: unknown[]) {
  const explain = `EXPLAIN (ANALYZE, BUFFERS) ${text}`;
  let lines: Array<{ 'QUERY PLAN': string }>;
  if (inTransaction) {
    await tx.unsafe('SAVEPOINT explain_write');
    lines = await tx.unsafe(explain, params as never[]);
    await tx.unsafe('ROLLBACK TO SAVEPOINT explain_write');
  } else {
    const rollback = new Error('rollback');
    lines = [];
    await (tx as postgres.Sql)
      .begin(async (t) => {
        lines = await t.unsafe(explain, params as never[]);
        throw rollback;
      })
      .catch((error: unknown) => {
        if (error !== rollback) throw error;
      });
  }
  plans.push({ ...current, text: lines.map((l) => l['QUERY PLAN']).join('\n') });
}

/** The postgres.js client with its write statements (and those of its transactions) explained first. */
function explaining<T extends postgres.Sql | postgres.TransactionSql>(client: T, inTransaction: boolean): T {
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key === 'unsafe') {
        // Other queries keep postgres.js's pending query (drizzle calls .values() on it).
        return (text: string, params: unknown[], options?: object) =>
          text.startsWith('WITH snap AS') || text.startsWith('WITH w AS') || text.startsWith('WITH r AS')
            ? explainThenRun(target, inTransaction, text, params).then(() => target.unsafe(text, params as never[], options))
            : target.unsafe(text, params as never[], options);
      }
      if (key === 'begin') {
        return (fn: (tx: postgres.TransactionSql) => unknown) => (target as postgres.Sql).begin((tx) => fn(explaining(tx, true)) as never);
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

const EVENT_NAMES = ['CONTENT_PROVISIONED', 'AUTHOR_MATCHES_SUGGESTED', 'teacher sitting 1', 'teacher sitting 2', 'ESSAYS_READY'];

async function main() {
  await resetDatabase(adminUrl, databaseName);
  const url = benchDatabaseUrl(adminUrl, databaseName);
  const migrated = await openDatabase({ url, dataDir: 'memory://', poolSize: 2 });
  await migrated.close();
  // As the service's own connections (db/client.ts): JIT off.
  const client = postgres(url, { max: 2, onnotice: () => {}, connection: { jit: 'off' } });
  try {
    const db = drizzle(explaining(client, false), { schema }) as unknown as Db;
    const service = createService({ db, validationTimeoutMs: 86_400_000 });
    const classes = await createClasses(service, 1, 30);
    for (const essays of sizes.length > 0 ? sizes : [4, 30]) {
      const template = await makeTemplate(service, classes[0]!, 'registered', essays);
      const pool = new BatchPool(client, [template]);
      const walk = eventMix(pool, directTransport(service), essays);
      // Two walks: the first warms caches and plans, the second is reported.
      const before = plans.length;
      for (let i = 0; i < 2 * eventsPerBatch('two-sittings', essays); i++) {
        current = { event: EVENT_NAMES[i % 5]!, essays };
        if (i === 5) plans.splice(before);
        await walk(0);
      }
      const [size] = await client<Array<{ chars: number; bytes: number }>>`
        SELECT length(snapshot::text) AS chars, pg_column_size(snapshot) AS bytes FROM actor_snapshots
        WHERE actor_id LIKE 'batch:%' ORDER BY updated_at DESC LIMIT 1`;
      process.stdout.write(`${essays} essays: the batch snapshot is ${size!.chars} characters of JSON, ${size!.bytes} bytes stored\n`);
    }
    const burst = Number(process.env.BURST ?? 100);
    await settleUnknownStudents(service, classes, 4);
    const pending = await makeTemplate(service, classes[0]!, 'awaiting_teacher', 4);
    // BURST_BACKGROUND: that many other pending batches of 30 essays (not due), as tables hold in a busy run.
    const background = Number(process.env.BURST_BACKGROUND ?? 0);
    if (background > 0) {
      const big = await makeTemplate(service, classes[0]!, 'awaiting_teacher', 30);
      await cloneBatches(client, [big], background, new Date(Date.now() + 86_400_000).toISOString());
    }
    await cloneBatches(client, [pending], burst, new Date(Date.now() - 60_000).toISOString());
    current = { event: `deadline burst of ${burst}`, essays: 4 };
    const fired = await service.fireDueDeadlines({ limit: burst, leaseMs: 60_000, burstSize: burst, lanes: 1 });
    process.stdout.write(
      `burst: ${fired.filter((f) => f.path === 'burst').length} of ${fired.length} deadlines applied by the set statement\n`,
    );
    for (const plan of plans) {
      const time = /Execution Time: ([\d.]+) ms/.exec(plan.text)?.[1];
      const planning = /Planning Time: ([\d.]+) ms/.exec(plan.text)?.[1];
      process.stdout.write(`\n=== ${plan.essays} essays, ${plan.event}: execution ${time} ms, planning ${planning} ms\n${plan.text}\n`);
    }
  } finally {
    await client.end({ timeout: 5 });
    await dropDatabase(adminUrl, databaseName);
  }
}

await main();
