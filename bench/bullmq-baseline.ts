import { Queue, Worker } from 'bullmq';
import { redisConnection } from '../jobs/timers.ts';
import type { Sample } from './stats.ts';

export interface BurstResult extends Sample {
  /** From the common due instant until the last item was done. */
  totalMs: number;
}

/**
 * Time left before the burst is due: enough to enqueue every job before any is due, even on a
 * machine busy with other work (0.12 ms a job was too little there: T-bullmq scheduled late).
 */
export function burstLeadMs(count: number): number {
  return 300 + Math.ceil(count * 0.25);
}

/**
 * Q: bare BullMQ. `count` no-op delayed jobs due at one instant, a worker with the project's
 * concurrency, timed from the due instant to each job's completion. Job options match the
 * project's deadline jobs, so the difference to T is the work done per job.
 */
export async function bareQueueBurst(
  redisUrl: string,
  prefix: string,
  count: number,
  concurrency: number,
  run: number,
): Promise<BurstResult> {
  const name = `bench-noop-${run}`;
  const producer = redisConnection(redisUrl);
  const consumer = redisConnection(redisUrl);
  const queue = new Queue(name, { connection: producer, prefix });
  const latencies: number[] = [];
  let finishAll: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finishAll = resolve));
  let dueAt = Number.POSITIVE_INFINITY;
  const worker = new Worker(name, async () => {}, { connection: consumer, prefix, concurrency });
  worker.on('completed', () => {
    latencies.push(Date.now() - dueAt);
    if (latencies.length === count) finishAll();
  });
  try {
    await worker.waitUntilReady();
    dueAt = Date.now() + burstLeadMs(count);
    const jobs = Array.from({ length: count }, (_, i) => ({
      name: 'noop',
      data: { i },
      opts: {
        jobId: `noop-${run}-${i}`,
        delay: Math.max(0, dueAt - Date.now()),
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
      },
    }));
    for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
    if (Date.now() > dueAt) process.stderr.write(`  warning: Q enqueued its jobs ${Date.now() - dueAt} ms after their due time\n`);
    await withTimeout(allDone, 120_000, () => `Q: ${latencies.length}/${count} jobs completed`);
    const totalMs = Math.max(...latencies);
    return { ops: count, elapsedMs: totalMs, latencies, totalMs };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
