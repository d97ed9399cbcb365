import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Service } from '../app/service.ts';
import type { KafkaTransport } from '../jobs/kafka.ts';
import { createRelay } from '../jobs/relay.ts';
import { createSweep } from '../jobs/sweep.ts';
import { createRetentionLoop, startRetentionWorker } from '../jobs/retention.ts';
import type { DeadlineTimers } from '../jobs/timers.ts';
import { startDeadlineWorker } from '../jobs/worker.ts';
import { loggableError } from '../ops/loggable-error.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface WorkerSideDeps {
  config: Config;
  service: Service;
  /** BullMQ's deadline queue, when REDIS_URL is set. */
  timers: DeadlineTimers | null;
  /** HuleEdu's Kafka, when KAFKA_BROKERS is set: the relay publishes to its sink when OUTBOX_RELAY names it. */
  kafka: KafkaTransport | null;
  metrics: Metrics;
  log: Logger;
}

/**
 * The worker side of a process (ROLE=worker or all): the BullMQ deadline worker with the timers put
 * back on the queue, the database sweep (deadlines and reminders), and the outbox relay.
 */
export async function startWorkerSide({ config, service, timers, kafka, metrics, log }: WorkerSideDeps) {
  const worker = config.redisUrl ? startDeadlineWorker(service, { redisUrl: config.redisUrl, prefix: config.queuePrefix }) : null;
  worker?.worker.on('failed', (job, error) =>
    log('warn', 'deadline job failed; BullMQ retries it', { job_id: job?.id, ...loggableError(error) }),
  );
  const sweep = createSweep(service, {
    intervalMs: config.sweepIntervalMs,
    onError: (error) => log('error', 'sweep failed', loggableError(error)),
    onFired: (batchId, outcome) => log('info', 'deadline fired by sweep', { batch_id: batchId, outcome }),
    reminderLeadMs: config.validationReminderBeforeMs,
    onReminded: (batchId, version) =>
      log('info', 'teacher reminded of the validation deadline', { batch_id: batchId, deadline_version: version }),
  });
  if (worker && timers) {
    // Redis keeps nothing on disk: after a restart, put every pending deadline back on the queue.
    const pending = await service.pendingDeadlines(100_000);
    await timers.scheduleMany(pending);
    if (pending.length > 0) log('info', 'deadline timers re-scheduled', { count: pending.length });
  }
  sweep.start();

  // Retention (RETENTION_DAYS): a BullMQ job scheduler with Redis, else a loop of this process over the database.
  const retentionOptions = {
    intervalMs: config.retentionIntervalMs,
    onError: (error: unknown) => log('error', 'retention pass failed; the next one retries', loggableError(error)),
  };
  const retention =
    config.retentionDays === null
      ? null
      : config.redisUrl
        ? await startRetentionWorker(service, { ...retentionOptions, redisUrl: config.redisUrl, prefix: config.queuePrefix })
        : createRetentionLoop(service, retentionOptions);
  if (retention && 'start' in retention) retention.start();

  // The relay's own connection fails fast, so a Redis outage ends a pass (and its transaction) quickly.
  const relayRedis =
    config.redisUrl && config.outboxRelay.includes('redis')
      ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2, commandTimeout: 10_000 })
      : null;
  const kafkaSink = kafka && config.outboxRelay.includes('kafka') ? kafka.sink : null;
  const relay =
    relayRedis || kafkaSink
      ? createRelay(service.outboxRelay(), {
          ...(relayRedis ? { redis: relayRedis } : {}),
          ...(kafkaSink ? { sinks: [kafkaSink] } : {}),
          streamPrefix: config.streamPrefix,
          onError: (error) => log('warn', 'outbox relay pass failed; it retries', { err: String(error) }),
          onPublished: (rows) => (relayRedis ? rows.forEach((r) => metrics.outboxRelayed.inc({ topic: r.topic })) : undefined),
        })
      : null;
  relay?.start();

  return {
    worker,
    sweep,
    relay,
    retention,
    /** Lets the running sweep pass, jobs and relay pass finish. */
    stop: async (): Promise<void> => {
      await Promise.all([
        sweep.stop(),
        worker?.close(),
        relay?.stop(),
        retention && 'close' in retention ? retention.close() : retention?.stop(),
      ]);
    },
    /** Closes the relay's Redis connection, once the relay has stopped. */
    disconnect: (): void => relayRedis?.disconnect(),
  };
}

export type WorkerSide = Awaited<ReturnType<typeof startWorkerSide>>;
