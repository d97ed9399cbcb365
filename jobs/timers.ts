import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { timeoutEventId } from '../app/commands.ts';
import type { DeadlineListener } from '../app/service.ts';

export const DEADLINE_QUEUE = 'validation-deadlines';
export const DEADLINE_JOB = 'validation-timeout';

export interface DeadlineJobData {
  batch_id: string;
  deadline_version: number;
}

export interface RedisOptions {
  redisUrl: string;
  /** BullMQ key prefix; tests give each file its own. */
  prefix?: string;
}

export function redisConnection(url: string): Redis {
  // BullMQ workers need maxRetriesPerRequest: null, or they throw and hang the process.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

/**
 * The producer's connection fails fast: with the offline queue off, a command while Redis is
 * unreachable is rejected at once instead of waiting for a reconnect, so an after-commit enqueue
 * never hangs behind a dead Redis (the sweep fires what it missed). Commands sent before the
 * first connect still wait, because BullMQ awaits the connection being ready first.
 */
export function producerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, enableOfflineQueue: false });
}

/**
 * Delayed BullMQ jobs: the on-time accelerator for deadlines that live in Postgres. The job id is
 * the batch and deadline version (and doubles as the event id), so scheduling twice is a no-op and a
 * job for a moved or met deadline can only be a duplicate or a late no-op.
 */
export function createDeadlineTimers(options: RedisOptions & { now?: () => number }) {
  const connection = producerConnection(options.redisUrl);
  const queue = new Queue<DeadlineJobData>(DEADLINE_QUEUE, { connection, prefix: options.prefix ?? 'huleedu' });
  const now = options.now ?? Date.now;

  const jobOptions = (batchId: string, version: number, dueAt: string) => ({
    jobId: timeoutEventId(batchId, version),
    delay: Math.max(0, Date.parse(dueAt) - now()),
    attempts: 8,
    backoff: { type: 'exponential' as const, delay: 500 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });

  const timers = {
    queue,
    async schedule(batchId: string, version: number, dueAt: string): Promise<void> {
      await queue.add(DEADLINE_JOB, { batch_id: batchId, deadline_version: version }, jobOptions(batchId, version, dueAt));
    },
    async scheduleMany(deadlines: Array<{ batch_id: string; version: number; due_at: string }>): Promise<void> {
      if (deadlines.length === 0) return;
      await queue.addBulk(
        deadlines.map((d) => ({
          name: DEADLINE_JOB,
          data: { batch_id: d.batch_id, deadline_version: d.version },
          opts: jobOptions(d.batch_id, d.version, d.due_at),
        })),
      );
    },
    async cancel(batchId: string, version: number): Promise<void> {
      await queue.remove(timeoutEventId(batchId, version));
    },
    /** The application layer's after-commit hook. Best effort: the sweep repairs what fails here. */
    listener(onError: (error: unknown) => void): DeadlineListener {
      return (batchId, change) => {
        const work: Promise<void>[] = [];
        if (change.kind === 'set') work.push(timers.schedule(batchId, change.version, change.due_at));
        if (change.previous !== null) work.push(timers.cancel(batchId, change.previous));
        Promise.all(work).catch(onError);
      };
    },
    async close(): Promise<void> {
      await queue.close();
      connection.disconnect();
    },
  };
  return timers;
}

export type DeadlineTimers = ReturnType<typeof createDeadlineTimers>;
