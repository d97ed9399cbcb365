import type { Config } from './config.ts';
import type { Secrets } from './secrets.ts';
import { createService } from './app/service.ts';
import { allowEveryPipeline, entitlementsChecker } from './app/credits.ts';
import { startTracing } from './ops/tracing.ts';
import { openDatabase } from './db/client.ts';
import { DEADLINE_QUEUE, type DeadlineTimers, createDeadlineTimers } from './jobs/timers.ts';
import { type PinoLogger, createLogger, logFunction } from './ops/logger.ts';
import { createMetrics } from './ops/metrics.ts';
import { observeApplications } from './ops/observe.ts';
import { withinMs } from './ops/readiness.ts';
import { type ApiSide, startApiSide } from './runtime/api.ts';
import { type WorkerSide, startWorkerSide } from './runtime/worker.ts';

export type { Logger } from './ops/logger.ts';

/**
 * The composition root: one process runs the API, the timeout worker, or both (ROLE), over the
 * database in DATABASE_URL (or embedded PGlite) and, when REDIS_URL is set, BullMQ. What the two
 * sides start is in runtime/worker.ts and runtime/api.ts; here are what they share and the stop.
 */
export async function startRuntime(config: Config, secrets: Secrets, logger: PinoLogger = createLogger({ level: config.logLevel })) {
  const log = logFunction(logger);
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.preparedStatements,
    lockLabel: `ROLE=${config.role}`,
  });
  const tracing = startTracing(config.otel);
  const timers: DeadlineTimers | null = config.redisUrl
    ? createDeadlineTimers({ redisUrl: config.redisUrl, prefix: config.queuePrefix })
    : null;
  const metrics = createMetrics({
    processMetrics: true,
    // Read at collection time, after the service below exists.
    outboxBacklog: () => service.outboxBacklog(),
    queueDepth: timers
      ? withinMs(1000, async () => {
          const counts = await timers.queue.getJobCounts('waiting', 'delayed', 'active', 'failed');
          return Object.entries(counts).map(([state, count]) => ({ queue: DEADLINE_QUEUE, state, count }));
        })
      : undefined,
    operatorNumbers: () => service.operatorNumbers(config.stuckAfterMs),
    onCollectError: (error) => log('warn', 'a metric could not be collected', { err: String(error) }),
  });
  const service = createService({
    db: database.db,
    validationTimeoutMs: config.validationTimeoutMs,
    deadlines: config.deadlines,
    credits: config.credits.kind === 'entitlements' ? entitlementsChecker(config.credits.url) : allowEveryPipeline,
    deadlineClockSkewMs: config.deadlineClockSkewMs,
    ...(config.retentionDays === null ? {} : { retentionDays: config.retentionDays }),
    onRetentionPurged: (report) =>
      log('info', 'retention purged personal data', {
        retention_days: report.retention_days,
        cutoff: report.cutoff,
        batches: report.batches.map((b) => ({ batch_id: b.batch_id, state: b.state, rows: b.rows })),
        totals: report.totals,
        remaining: report.remaining,
      }),
    onOutcome: observeApplications({ metrics, logger }),
    ...(tracing ? { tracer: tracing.tracer } : {}),
    onDeadlineChange: timers?.listener((error) =>
      log('warn', 'deadline timer not scheduled; the sweep will fire it', { err: String(error) }),
    ),
  });
  // Before anything is served or fired: every batch snapshot at the machines' current versions.
  const upgraded = await service.upgradeSnapshots();
  if (upgraded > 0) log('info', 'batch snapshots migrated to the current machine version', { count: upgraded });

  const runsWorker = config.role !== 'api';
  const runsApi = config.role !== 'worker';
  // HuleEdu's Kafka: the producer wherever it is configured, the consumer in the worker role.
  // Loaded only when configured: without KAFKA_BROKERS the process never loads kafkajs.
  const kafka = config.kafka
    ? await (await import('./jobs/kafka.ts')).startKafkaTransport(service, {
        ...config.kafka,
        consume: runsWorker,
        registry: metrics.registry,
        log,
      })
    : null;

  const workerSide: WorkerSide | null = runsWorker ? await startWorkerSide({ config, service, timers, kafka, metrics, log }) : null;
  const streams = service.openBatchStreams(config.streamPollMs);
  let draining = false;
  const apiSide: ApiSide | null = runsApi
    ? await startApiSide({ config, secrets, service, timers, kafka, metrics, logger, log, streams, draining: () => draining })
    : null;

  async function banner() {
    log('info', 'started', {
      role: config.role,
      database: database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL',
      timers: config.redisUrl ? 'BullMQ + sweep' : 'database sweep only',
      kafka: config.kafka ? { brokers: config.kafka.brokers, group: config.kafka.groupId, consuming: runsWorker } : null,
      outbox_relay: workerSide?.relay ? config.outboxRelay : [],
      sweep_interval_ms: runsWorker ? config.sweepIntervalMs : null,
    });
    await apiSide?.banner();
  }

  /** Graceful stop: refuse new work, let in-flight requests and jobs finish, then close pools. */
  async function stop(): Promise<void> {
    draining = true;
    // Open event streams would keep their connections, and so server.close(), waiting forever.
    streams.close();
    await Promise.all([apiSide?.close(), workerSide?.stop(), kafka?.consumer?.stop()]);
    await kafka?.stop().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    workerSide?.disconnect();
    await timers?.close();
    await database.close();
  }

  return {
    service,
    database,
    address: () => apiSide?.address ?? '',
    internalAddress: () => apiSide?.internalAddress ?? '',
    banner,
    stop,
    sweep: workerSide?.sweep ?? null,
    timers,
    relay: workerSide?.relay ?? null,
    metrics,
    logger,
    kafka,
  };
}
