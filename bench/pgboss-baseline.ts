import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import type postgres from 'postgres';
import { type BurstResult, burstLeadMs, withTimeout } from './bullmq-baseline.ts';

/**
 * PB: pg-boss, a PostgreSQL job queue, as the database-only yardstick for a deadline burst.
 * `count` jobs with `startAfter` at one instant; workers claim 100 due jobs per statement, run a
 * handler doing one UPDATE per job, and complete the 100 in one statement. Timed like Q and T, from
 * the due instant to each job's completion.
 *
 * The claim loops are the bench's own (fetch, handle, complete) rather than `boss.work()`, whose
 * polling interval is at least 500 ms: the burst measures the queue's statements, not its sleep.
 */

const BATCH_SIZE = 100;
const IDLE_POLL_MS = 20;

export interface PgBossRig {
  boss: PgBoss;
  sql: postgres.Sql;
  workers: number;
  stop(): Promise<void>;
}

export async function startPgBoss(url: string, sql: postgres.Sql, workers: number, poolSize: number): Promise<PgBossRig> {
  // No maintenance or cron timers: nothing else runs in the bench database during a burst.
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss_bench', max: poolSize, supervise: false, schedule: false });
  boss.on('error', (error) => process.stderr.write(`  pg-boss: ${String(error)}\n`));
  await boss.start();
  await sql`CREATE TABLE IF NOT EXISTS bench_pb (id int PRIMARY KEY, handled int NOT NULL DEFAULT 0)`;
  return { boss, sql, workers, stop: () => boss.stop({ graceful: false, wait: true }) };
}

export async function pgBossBurst(rig: PgBossRig, count: number, run: number): Promise<BurstResult> {
  const { boss, sql } = rig;
  const name = `bench-pb-${run}`;
  await boss.createQueue(name);
  await sql`INSERT INTO bench_pb (id) SELECT g FROM generate_series(1, ${count}) g ON CONFLICT (id) DO UPDATE SET handled = 0`;
  const latencies: number[] = [];
  const dueAt = Date.now() + burstLeadMs(count);
  const startAfter = new Date(dueAt);
  for (let i = 0; i < count; i += 1000) {
    const chunk = Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ name, data: { id: i + k + 1 }, startAfter }));
    await boss.insert(chunk);
  }
  if (Date.now() > dueAt) process.stderr.write(`  warning: PB inserted its jobs ${Date.now() - dueAt} ms after their due time\n`);
  const claimLoop = async () => {
    while (latencies.length < count) {
      const jobs = await boss.fetch<{ id: number }>(name, { batchSize: BATCH_SIZE });
      if (jobs.length === 0) {
        await sleep(IDLE_POLL_MS);
        continue;
      }
      for (const job of jobs) await sql`UPDATE bench_pb SET handled = handled + 1 WHERE id = ${job.data.id}`;
      await boss.complete(
        name,
        jobs.map((j) => j.id),
      );
      const doneAt = Date.now() - dueAt;
      for (let k = 0; k < jobs.length; k++) latencies.push(doneAt);
    }
  };
  await withTimeout(
    Promise.all(Array.from({ length: rig.workers }, claimLoop)),
    120_000,
    () => `PB: ${latencies.length}/${count} jobs completed`,
  );
  const [handled] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM bench_pb WHERE handled = 1 AND id <= ${count}`;
  if (handled!.n !== count) throw new Error(`PB: ${handled!.n}/${count} jobs handled exactly once`);
  const totalMs = Math.max(...latencies);
  return { ops: count, elapsedMs: totalMs, latencies, totalMs };
}
