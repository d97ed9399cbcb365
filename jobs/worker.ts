import { DelayedError, type Job, Worker } from 'bullmq';
import type { Service } from '../app/service.ts';
import { DEADLINE_QUEUE, type DeadlineJobData, type RedisOptions, redisConnection } from './timers.ts';

/**
 * Consumes due deadline jobs. It only translates a job into the timeout event and hands it to the
 * application layer; the machine decides whether the deadline still applies. A throw makes BullMQ
 * retry with backoff.
 */
export function startDeadlineWorker(
  service: Service,
  options: RedisOptions & { concurrency?: number; onFired?: (job: Job<DeadlineJobData>, outcome: string) => void },
) {
  const connection = redisConnection(options.redisUrl);
  const worker = new Worker<DeadlineJobData>(
    DEADLINE_QUEUE,
    async (job, token) => {
      const { batch_id, deadline_version } = job.data;
      // Jobs due together are fired together: the service groups them into bursts.
      const outcome = await service.fireDeadline(batch_id, deadline_version);
      options.onFired?.(job, outcome.kind);
      if (outcome.kind === 'not_due' && token !== undefined) {
        // Promoted early (or a clock ran ahead): wait again until the deadline, without a retry.
        await job.moveToDelayed(Date.parse(outcome.due_at), token);
        throw new DelayedError();
      }
      return { outcome: outcome.kind };
    },
    { connection, prefix: options.prefix ?? 'huleedu', concurrency: options.concurrency ?? 64 },
  );
  return {
    worker,
    async close(): Promise<void> {
      await worker.close();
      connection.disconnect();
    },
  };
}
