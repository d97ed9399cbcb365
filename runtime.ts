import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Config } from './app/config.ts';
import { pendingDeadlines } from './app/deadlines.ts';
import { type Secrets, teacherToken } from './app/secrets.ts';
import { createService } from './app/service.ts';
import { openDatabase } from './db/client.ts';
import { createSweep } from './jobs/sweep.ts';
import { type DeadlineTimers, createDeadlineTimers } from './jobs/timers.ts';
import { startDeadlineWorker } from './jobs/worker.ts';
import { createHttpApp } from './server/app.ts';

export type Logger = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export const jsonLogger: Logger = (level, message, fields = {}) => {
  const line = JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`);
};

/**
 * The composition root: one process runs the API, the timeout worker, or both (ROLE), over the
 * database in DATABASE_URL (or embedded PGlite) and, when REDIS_URL is set, BullMQ.
 */
export async function startRuntime(config: Config, secrets: Secrets, log: Logger = jsonLogger) {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const timers: DeadlineTimers | null = config.redisUrl ? createDeadlineTimers({ redisUrl: config.redisUrl }) : null;
  const service = createService({
    db: database.db,
    validationTimeoutMs: config.validationTimeoutMs,
    onDeadlineChange: timers?.listener((error) => log('warn', 'deadline timer not scheduled; the sweep will fire it', { err: String(error) })),
  });
  const runsWorker = config.role !== 'api';
  const runsApi = config.role !== 'worker';

  const worker = runsWorker && config.redisUrl ? startDeadlineWorker(service, { redisUrl: config.redisUrl }) : null;
  worker?.worker.on('failed', (job, error) => log('warn', 'deadline job failed; BullMQ retries it', { job_id: job?.id, err: error.message }));
  const sweep = runsWorker
    ? createSweep(service, {
        intervalMs: config.sweepIntervalMs,
        onError: (error) => log('error', 'sweep failed', { err: String(error) }),
        onFired: (batchId, outcome) => log('info', 'deadline fired by sweep', { batch_id: batchId, outcome }),
      })
    : null;
  if (worker && timers) {
    // Redis keeps nothing on disk: after a restart, put every pending deadline back on the queue.
    const pending = await pendingDeadlines(database.db, 100_000);
    await timers.scheduleMany(pending);
    if (pending.length > 0) log('info', 'deadline timers re-scheduled', { count: pending.length });
  }
  sweep?.start();

  let draining = false;
  let server: Server | null = null;
  let address = '';
  if (runsApi) {
    const app = createHttpApp(service, {
      auth: secrets,
      draining: () => draining,
      log: (message, fields) => log('error', message, fields),
    });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: config.port, hostname: '0.0.0.0' }, (info) => {
        address = `http://localhost:${info.port}`;
        resolve();
      }) as Server;
    });
  }

  async function banner() {
    log('info', 'started', {
      role: config.role,
      database: database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}` : 'PostgreSQL',
      timers: config.redisUrl ? 'BullMQ + sweep' : 'database sweep only',
      sweep_interval_ms: runsWorker ? config.sweepIntervalMs : null,
    });
    if (!runsApi) return;
    console.log(`\nhuleedu phase-1 state service on ${address}`);
    console.log(`  health ${address}/healthz   readiness ${address}/readyz`);
    if (secrets.development) {
      console.log('  development credentials (set JWT_SECRET and SERVICE_TOKEN to replace them):');
      console.log(`    service token        ${secrets.serviceToken}`);
      console.log(`    teacher "teacher-a"  ${await teacherToken(secrets.jwtSecret, 'teacher-a')}`);
      console.log(`    teacher "teacher-b"  ${await teacherToken(secrets.jwtSecret, 'teacher-b')}`);
      console.log('    another teacher      npm run token -- <teacher-id>');
    }
    console.log('');
  }

  /** Graceful stop: refuse new work, let in-flight requests and jobs finish, then close pools. */
  async function stop(): Promise<void> {
    draining = true;
    const closing = server
      ? new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeIdleConnections();
        })
      : Promise.resolve();
    await Promise.all([closing, sweep?.stop(), worker?.close()]);
    await timers?.close();
    await database.close();
  }

  return { service, database, address: () => address, banner, stop, sweep, timers };
}
