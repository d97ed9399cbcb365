import type postgres from 'postgres';
import type { Service } from '../app/service.ts';
import { createSweep } from '../jobs/sweep.ts';
import type { DeadlineTimers } from '../jobs/timers.ts';
import { startDeadlineWorker } from '../jobs/worker.ts';
import { InboundEnvelope } from '../machines/events.ts';
import { type BurstResult, burstLeadMs, withTimeout } from './bullmq-baseline.ts';
import { authorMatchesSuggested } from './events.ts';
import { type Template, cloneBatches } from './fixtures.ts';
import { fixedRate } from './load.ts';
import type { Sample } from './stats.ts';

/**
 * T: deadlines as the project fires them. Each measured deadline must end APPLIED, i.e. the
 * timeout's transition committed; a fired-but-refused or failed one fails the bench.
 */

/** Counts what the scheduler reports back after each apply returned (i.e. after commit). */
function completionTracker(count: number, dueAt: () => number) {
  const applied = new Map<string, number>();
  const other: Record<string, number> = {};
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    done,
    fired(batchId: string, outcome: string) {
      if (outcome !== 'applied') {
        other[outcome] = (other[outcome] ?? 0) + 1;
        return;
      }
      if (!applied.has(batchId)) applied.set(batchId, Date.now() - dueAt());
      if (applied.size === count) finish();
    },
    latencies: () => [...applied.values()],
    describe: () => `${applied.size}/${count} applied, others ${JSON.stringify(other)}`,
    others: () => other,
  };
}

/** Copies awaiting-teacher batches whose deadlines all fall due at one instant, `lead` ms from now. */
async function dueTogether(sql: postgres.Sql, templates: Template[], count: number) {
  // Copied with a far-future placeholder first: the copying takes a while, the due instant must not.
  const placeholder = new Date(Date.UTC(2100, 0, 1) + Math.floor(Math.random() * 1e9)).toISOString();
  await cloneBatches(sql, templates, count, placeholder);
  const dueAt = Date.now() + burstLeadMs(count);
  const due = new Date(dueAt).toISOString();
  await sql.begin(async (tx) => {
    await tx`UPDATE actor_snapshots s SET snapshot = jsonb_set(s.snapshot, '{context,deadline,due_at}', to_jsonb(${due}::text))
      FROM deadlines d WHERE d.due_at = ${placeholder}::timestamptz AND s.actor_id = 'batch:' || d.batch_id`;
    await tx`UPDATE batches SET due_at = ${due}::timestamptz WHERE due_at = ${placeholder}::timestamptz`;
    await tx`UPDATE deadlines SET due_at = ${due}::timestamptz WHERE due_at = ${placeholder}::timestamptz`;
  });
  const deadlines = await sql<Array<{ batch_id: string; version: number }>>`
    SELECT batch_id, version FROM deadlines WHERE due_at = ${due}::timestamptz`;
  if (deadlines.length !== count) throw new Error(`T: ${deadlines.length} deadlines due at ${due}, expected ${count}`);
  return { dueAt, due, deadlines: deadlines.map((d) => ({ ...d, due_at: due })) };
}

/** After the last report: the database must agree that every deadline was applied and cleared. */
async function verifyApplied(sql: postgres.Sql, due: string, count: number, firedBy: string): Promise<void> {
  const [left] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM deadlines WHERE due_at = ${due}::timestamptz`;
  const [applied] = await sql<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM history WHERE event_type = 'VALIDATION_TIMEOUT' AND outcome = 'applied'
      AND detail->>'due_at' = ${due} AND detail->>'fired_by' = ${firedBy}`;
  if (left!.n !== 0 || applied!.n !== count) {
    throw new Error(`T (${firedBy}): ${left!.n} deadlines left, ${applied!.n}/${count} applied timeouts in history`);
  }
}

export interface DeadlineRig {
  sql: postgres.Sql;
  templates: Template[];
  redisUrl: string;
  prefix: string;
}

/** T with BullMQ: the deadline jobs enqueued as the runtime re-schedules them, the project's worker firing. */
export async function burstWithBullmq(rig: DeadlineRig, service: Service, timers: DeadlineTimers, count: number): Promise<BurstResult> {
  let dueAt = Number.POSITIVE_INFINITY;
  const tracker = completionTracker(count, () => dueAt);
  const worker = startDeadlineWorker(service, {
    redisUrl: rig.redisUrl,
    prefix: rig.prefix,
    onFired: (job, outcome) => tracker.fired(job.data.batch_id, outcome),
  });
  const errors: unknown[] = [];
  worker.worker.on('failed', (_job, error) => errors.push(error));
  try {
    await worker.worker.waitUntilReady();
    const burst = await dueTogether(rig.sql, rig.templates, count);
    dueAt = burst.dueAt;
    await timers.scheduleMany(burst.deadlines);
    if (Date.now() > dueAt) process.stderr.write(`  warning: T-bullmq scheduled its jobs ${Date.now() - dueAt} ms late\n`);
    await withTimeout(tracker.done, 180_000, () => `T-bullmq: ${tracker.describe()}`);
    await verifyApplied(rig.sql, burst.due, count, 'bullmq');
  } finally {
    await worker.close();
  }
  reportFailures('T-bullmq', errors);
  return burstResult(tracker.latencies(), count);
}

/** T with the sweep alone, as in embedded mode: no Redis, the runtime's one-second interval. */
export async function burstWithSweep(rig: DeadlineRig, service: Service, count: number, intervalMs: number): Promise<BurstResult> {
  let dueAt = Number.POSITIVE_INFINITY;
  const tracker = completionTracker(count, () => dueAt);
  const errors: unknown[] = [];
  const sweep = createSweep(service, {
    intervalMs,
    onFired: (batchId, outcome) => tracker.fired(batchId, outcome),
    onError: (error) => errors.push(error),
  });
  try {
    const burst = await dueTogether(rig.sql, rig.templates, count);
    dueAt = burst.dueAt;
    sweep.start();
    await withTimeout(tracker.done, 180_000, () => `T-sweep: ${tracker.describe()}, ${errors.length} errors ${String(errors[0] ?? '')}`);
    await verifyApplied(rig.sql, burst.due, count, 'sweep');
  } finally {
    await sweep.stop();
  }
  reportFailures('T-sweep', errors);
  return burstResult(tracker.latencies(), count);
}

/** Failed attempts are retried (lease expiry, BullMQ backoff) and show up in the total; say why they failed. */
function reportFailures(what: string, errors: unknown[]): void {
  if (errors.length === 0) return;
  const kinds = new Map<string, number>();
  for (const e of errors) {
    // drizzle wraps the driver's error: the cause carries PostgreSQL's code and message.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const text = cause?.message ? `${cause.code ?? ''} ${cause.message}` : e instanceof Error ? e.message : String(e);
    const message = text.slice(0, 300).replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>');
    kinds.set(message, (kinds.get(message) ?? 0) + 1);
  }
  process.stderr.write(`  ${what}: ${errors.length} failed attempts (retried): ${JSON.stringify(Object.fromEntries(kinds))}\n`);
}

function burstResult(latencies: number[], count: number): BurstResult {
  const totalMs = Math.max(...latencies);
  return { ops: count, elapsedMs: totalMs, latencies, totalMs };
}

/**
 * Lateness at a light steady rate: suggestions arrive at `ratePerS`, each starting a deadline of
 * the service's validation timeout; the worker fires them. Lateness is what the history row records:
 * from the deadline's due_at to the timeout's `at`.
 */
export async function lightLoadLateness(
  rig: DeadlineRig,
  service: Service,
  options: { ratePerS: number; durationMs: number },
): Promise<Sample> {
  const count = Math.max(1, Math.round((options.ratePerS * options.durationMs) / 1000));
  const batches = await cloneBatches(rig.sql, rig.templates, count);
  const tracker = completionTracker(count, () => 0);
  const worker = startDeadlineWorker(service, {
    redisUrl: rig.redisUrl,
    prefix: rig.prefix,
    onFired: (job, outcome) => tracker.fired(job.data.batch_id, outcome),
  });
  let next = 0;
  try {
    await worker.worker.waitUntilReady();
    await fixedRate(options.ratePerS, options.durationMs, 16, async () => {
      const batch = batches[next++];
      if (!batch) return;
      const envelope = InboundEnvelope.parse(authorMatchesSuggested(batch.batchId, batch.cls, batch.essays));
      const outcome = await service.applyInbound(envelope);
      if (outcome.kind !== 'applied') throw new Error(`lateness: suggestions not applied (${outcome.kind})`);
    });
    const started = Math.min(next, count);
    await withTimeout(
      (async () => {
        while (tracker.latencies().length < started) await new Promise((r) => setTimeout(r, 20));
      })(),
      60_000,
      () => `lateness: ${tracker.describe()} of ${started}`,
    );
  } finally {
    await worker.close();
  }
  const ids = batches.slice(0, next).map((b) => b.batchId);
  const found = await rig.sql<Array<{ lateness: number }>>`
    SELECT (detail->>'lateness_ms')::float8 AS lateness FROM history
    WHERE event_type = 'VALIDATION_TIMEOUT' AND outcome = 'applied'
      AND batch_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::text::jsonb)::uuid)`;
  if (found.length !== ids.length) throw new Error(`lateness: ${found.length}/${ids.length} timeouts in history`);
  return { ops: found.length, elapsedMs: options.durationMs, latencies: found.map((r) => r.lateness) };
}
