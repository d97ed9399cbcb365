import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { pendingDeadlines } from './app/deadlines.ts';
import type { Secrets } from './secrets.ts';
import { createService } from './app/service.ts';
import { allowEveryPipeline, entitlementsChecker } from './app/credits.ts';
import { upgradeBatchSnapshots } from './app/upgrade.ts';
import { startTracing } from './ops/tracing.ts';
import { operatorNumbers } from './app/review-reads.ts';
import { databaseAnswers, openDatabase } from './db/client.ts';
import { outboxBacklog, relayOutbox } from './db/outbox.ts';
import { loggableError } from './ops/loggable-error.ts';
import { createRelay } from './jobs/relay.ts';
import { createSweep } from './jobs/sweep.ts';
import { DEADLINE_QUEUE, type DeadlineTimers, createDeadlineTimers } from './jobs/timers.ts';
import { startDeadlineWorker } from './jobs/worker.ts';
import { type PinoLogger, createLogger, logFunction } from './ops/logger.ts';
import { createMetrics } from './ops/metrics.ts';
import { observeApplications } from './ops/observe.ts';
import { queueAnswers, withinMs } from './ops/readiness.ts';
import { createHttpApp } from './server/app.ts';
import { createInternalApp } from './server/internal-app.ts';
import { teacherToken } from './server/auth.ts';
import { answerClientErrors } from './server/client-errors.ts';
import { operations } from './server/operations.ts';

export type { Logger } from './ops/logger.ts';

/** The development teachers `npm start` prints and /review offers. */
const DEVELOPMENT_TEACHERS = ['teacher-a', 'teacher-b'];
const developmentTeachers = (jwtSecret: string) =>
  Promise.all(DEVELOPMENT_TEACHERS.map(async (teacher_id) => ({ teacher_id, token: await teacherToken(jwtSecret, teacher_id) })));

/**
 * The composition root: one process runs the API, the timeout worker, or both (ROLE), over the
 * database in DATABASE_URL (or embedded PGlite) and, when REDIS_URL is set, BullMQ.
 */
export async function startRuntime(config: Config, secrets: Secrets, logger: PinoLogger = createLogger({ level: config.logLevel })) {
  const log = logFunction(logger);
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    preparedStatements: config.preparedStatements,
    lockLabel: `ROLE=${config.role}`,
  });
  const upgraded = await upgradeBatchSnapshots(database.db, new Date().toISOString());
  if (upgraded > 0) log('info', 'batch snapshots migrated to the current machine version', { count: upgraded });
  const tracing = startTracing(config.otel);
  const timers: DeadlineTimers | null = config.redisUrl
    ? createDeadlineTimers({ redisUrl: config.redisUrl, prefix: config.queuePrefix })
    : null;
  const metrics = createMetrics({
    processMetrics: true,
    outboxBacklog: () => outboxBacklog(database.db),
    queueDepth: timers
      ? withinMs(1000, async () => {
          const counts = await timers.queue.getJobCounts('waiting', 'delayed', 'active', 'failed');
          return Object.entries(counts).map(([state, count]) => ({ queue: DEADLINE_QUEUE, state, count }));
        })
      : undefined,
    operatorNumbers: () => operatorNumbers(database.db, config.stuckAfterMs),
    onCollectError: (error) => log('warn', 'a metric could not be collected', { err: String(error) }),
  });
  const service = createService({
    db: database.db,
    validationTimeoutMs: config.validationTimeoutMs,
    deadlines: config.deadlines,
    credits: config.credits.kind === 'entitlements' ? entitlementsChecker(config.credits.url) : allowEveryPipeline,
    deadlineClockSkewMs: config.deadlineClockSkewMs,
    onOutcome: observeApplications({ metrics, logger }),
    ...(tracing ? { tracer: tracing.tracer } : {}),
    onDeadlineChange: timers?.listener((error) =>
      log('warn', 'deadline timer not scheduled; the sweep will fire it', { err: String(error) }),
    ),
  });
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

  const worker =
    runsWorker && config.redisUrl ? startDeadlineWorker(service, { redisUrl: config.redisUrl, prefix: config.queuePrefix }) : null;
  worker?.worker.on('failed', (job, error) =>
    log('warn', 'deadline job failed; BullMQ retries it', { job_id: job?.id, ...loggableError(error) }),
  );
  const sweep = runsWorker
    ? createSweep(service, {
        intervalMs: config.sweepIntervalMs,
        onError: (error) => log('error', 'sweep failed', loggableError(error)),
        onFired: (batchId, outcome) => log('info', 'deadline fired by sweep', { batch_id: batchId, outcome }),
        reminderLeadMs: config.validationReminderBeforeMs,
        onReminded: (batchId, version) =>
          log('info', 'teacher reminded of the validation deadline', { batch_id: batchId, deadline_version: version }),
      })
    : null;
  if (worker && timers) {
    // Redis keeps nothing on disk: after a restart, put every pending deadline back on the queue.
    const pending = await pendingDeadlines(database.db, 100_000);
    await timers.scheduleMany(pending);
    if (pending.length > 0) log('info', 'deadline timers re-scheduled', { count: pending.length });
  }
  sweep?.start();

  // The relay's own connection fails fast, so a Redis outage ends a pass (and its transaction) quickly.
  const relayRedis =
    runsWorker && config.redisUrl && config.outboxRelay.includes('redis')
      ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2, commandTimeout: 10_000 })
      : null;
  const kafkaSink = runsWorker && kafka && config.outboxRelay.includes('kafka') ? kafka.sink : null;
  const relay =
    relayRedis || kafkaSink
      ? createRelay(relayOutbox(database.db), {
          ...(relayRedis ? { redis: relayRedis } : {}),
          ...(kafkaSink ? { sinks: [kafkaSink] } : {}),
          streamPrefix: config.streamPrefix,
          onError: (error) => log('warn', 'outbox relay pass failed; it retries', { err: String(error) }),
          onPublished: (rows) => (relayRedis ? rows.forEach((r) => metrics.outboxRelayed.inc({ topic: r.topic })) : undefined),
        })
      : null;
  relay?.start();

  const streams = service.openBatchStreams(config.streamPollMs);
  let draining = false;
  let server: Server | null = null;
  let internalServer: Server | null = null;
  let address = '';
  let internalAddress = '';
  if (runsApi) {
    const app = createHttpApp(service, {
      auth: { ...secrets, maxTokenLifetimeSeconds: config.jwtMaxLifetimeSeconds },
      draining: () => draining,
      log: (message, fields) => log('error', message, fields),
      readiness: { database: databaseAnswers(database.db), ...(timers ? { redis: queueAnswers(timers.queue) } : {}), ...kafka?.readiness },
      streams,
      review: {
        stuckAfterMs: config.stuckAfterMs,
        developmentTeachers: secrets.development ? () => developmentTeachers(secrets.jwtSecret) : undefined,
      },
      operations: operations({
        logger,
        metrics,
        dashboard: timers
          ? { queues: [timers.queue], serviceToken: secrets.serviceToken, readOnly: config.queueDashboard === 'read-only' }
          : undefined,
      }),
    });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
        const wildcardOrLoopback = ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(config.host);
        address = `http://${wildcardOrLoopback ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host}:${info.port}`;
        resolve();
      }) as Server;
      answerClientErrors(server);
    });
    const internal = createInternalApp(service, { log: (message, fields) => log('error', message, fields) });
    await new Promise<void>((resolve) => {
      internalServer = serve({ fetch: internal.fetch, port: config.internalPort, hostname: config.internalHost }, (info) => {
        internalAddress = `http://${config.internalHost.includes(':') ? `[${config.internalHost}]` : config.internalHost}:${info.port}`;
        resolve();
      }) as Server;
      answerClientErrors(internalServer);
    });
  }

  async function banner() {
    log('info', 'started', {
      role: config.role,
      database: database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL',
      timers: config.redisUrl ? 'BullMQ + sweep' : 'database sweep only',
      kafka: config.kafka ? { brokers: config.kafka.brokers, group: config.kafka.groupId, consuming: runsWorker } : null,
      outbox_relay: relay ? config.outboxRelay : [],
      sweep_interval_ms: runsWorker ? config.sweepIntervalMs : null,
    });
    if (!runsApi) return;
    console.log(`\nhuleedu phase-1 state service on ${address}`);
    console.log(`  API docs   ${address}/docs            (OpenAPI: ${address}/openapi.json)`);
    console.log(`  review     ${address}/review             (sign in with a teacher token below)`);
    console.log(`  diagrams   ${address}/visualizations`);
    console.log(`  health     ${address}/healthz   readiness ${address}/readyz   metrics ${address}/metrics`);
    console.log(`  internal   ${internalAddress}   (HuleEdu services' doors, no credentials: INTERNAL_HOST, INTERNAL_PORT)`);
    if (timers) console.log(`  queues     ${address}/admin/queues      (service token; ${config.queueDashboard}, QUEUE_DASHBOARD)`);
    if (secrets.development) {
      console.log('  development credentials (set JWT_SECRET and SERVICE_TOKEN to replace them):');
      console.log(`    service token        ${secrets.serviceToken}`);
      for (const t of await developmentTeachers(secrets.jwtSecret)) console.log(`    teacher "${t.teacher_id}"  ${t.token}`);
      console.log('    another teacher      npm run token -- <teacher-id>');
    }
    console.log('');
  }

  /** Graceful stop: refuse new work, let in-flight requests and jobs finish, then close pools. */
  async function stop(): Promise<void> {
    draining = true;
    // Open event streams would keep their connections, and so server.close(), waiting forever.
    streams.close();
    const closing = [server, internalServer].map((s: Server | null) =>
      s
        ? new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          })
        : Promise.resolve(),
    );
    await Promise.all([...closing, sweep?.stop(), worker?.close(), relay?.stop(), kafka?.consumer?.stop()]);
    await kafka?.stop().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    relayRedis?.disconnect();
    await timers?.close();
    await database.close();
  }

  return {
    service,
    database,
    address: () => address,
    internalAddress: () => internalAddress,
    banner,
    stop,
    sweep,
    timers,
    relay,
    metrics,
    logger,
    kafka,
  };
}
