import { Queue, Worker } from 'bullmq';
import type { RetentionReport } from '../app/retention.ts';
import type { Service } from '../app/service.ts';
import { repeatEvery } from './repeat.ts';
import { type RedisOptions, redisConnection } from './timers.ts';

export const RETENTION_QUEUE = 'retention';
export const RETENTION_JOB = 'retention-purge';
/** The one job scheduler of the queue: every worker upserts the same id, so a fleet runs one pass per interval. */
export const RETENTION_SCHEDULER = 'retention-purge-every';

export interface RetentionJobOptions {
  intervalMs: number;
  /** Batches per pass; a pass with more due goes on until none remain (or the job stops). */
  limit?: number;
  /** Told after every pass that purged something. */
  onPurged?: (report: RetentionReport) => void;
  onError?: (error: unknown) => void;
}

/** Passes until nothing due remains: each pass purges up to `limit` batches, one transaction each. */
async function purgeAll(service: Service, options: RetentionJobOptions, stopped: () => boolean): Promise<number> {
  let purged = 0;
  for (;;) {
    const report = await service.purgeExpired(options.limit === undefined ? {} : { limit: options.limit });
    if (report === null) return purged;
    if (report.batches.length > 0) options.onPurged?.(report);
    purged += report.batches.length;
    if (report.remaining === 0 || report.batches.length === 0 || stopped()) return purged;
  }
}

/**
 * Without Redis: the retention pass on a timer of this process (the database alone decides what is
 * due, and a batch purged twice is purged once, so several workers may run it).
 */
export function createRetentionLoop(service: Service, options: RetentionJobOptions) {
  const loop = repeatEvery(options.intervalMs, () => purgeAll(service, options, () => loop.stopped), options.onError);
  return {
    runOnce: () => purgeAll(service, options, () => false),
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}

/**
 * With Redis: a BullMQ job scheduler fires the retention job every `intervalMs` on the `retention`
 * queue and one worker of the fleet runs it, visible on the queue dashboard with its result.
 */
export async function startRetentionWorker(service: Service, options: RetentionJobOptions & RedisOptions) {
  const prefix = options.prefix ?? 'huleedu';
  const queueConnection = redisConnection(options.redisUrl);
  const workerConnection = redisConnection(options.redisUrl);
  const queue = new Queue(RETENTION_QUEUE, { connection: queueConnection, prefix });
  let closing = false;
  const worker = new Worker(RETENTION_QUEUE, async () => ({ purged: await purgeAll(service, options, () => closing) }), {
    connection: workerConnection,
    prefix,
    concurrency: 1,
  });
  worker.on('failed', (_job, error) => options.onError?.(error));
  await queue.upsertJobScheduler(
    RETENTION_SCHEDULER,
    { every: options.intervalMs },
    { name: RETENTION_JOB, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  return {
    queue,
    worker,
    async close(): Promise<void> {
      closing = true;
      await worker.close();
      await queue.close();
      workerConnection.disconnect();
      queueConnection.disconnect();
    },
  };
}
