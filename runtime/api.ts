import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Config } from '../config.ts';
import type { Secrets } from '../secrets.ts';
import type { Service } from '../app/service.ts';
import type { KafkaTransport } from '../jobs/kafka.ts';
import type { DeadlineTimers } from '../jobs/timers.ts';
import type { Logger, PinoLogger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { queueAnswers } from '../ops/readiness.ts';
import { createHttpApp } from '../server/app.ts';
import { teacherToken } from '../server/auth.ts';
import { answerClientErrors } from '../server/client-errors.ts';
import { createInternalApp } from '../server/internal-app.ts';
import { operations } from '../server/operations.ts';

/** The development teachers `npm start` prints and /review offers. */
const DEVELOPMENT_TEACHERS = ['teacher-a', 'teacher-b'];
const developmentTeachers = (jwtSecret: string) =>
  Promise.all(DEVELOPMENT_TEACHERS.map(async (teacher_id) => ({ teacher_id, token: await teacherToken(jwtSecret, teacher_id) })));

export interface ApiSideDeps {
  config: Config;
  secrets: Secrets;
  service: Service;
  timers: DeadlineTimers | null;
  kafka: KafkaTransport | null;
  metrics: Metrics;
  logger: PinoLogger;
  log: Logger;
  /** The batch event streams, closed first on stop so that open streams do not hold the server. */
  streams: ReturnType<Service['openBatchStreams']>;
  /** True once a stop has begun: /readyz answers 503. */
  draining: () => boolean;
}

/** Listens on a port and answers the address it got. */
function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  port: number,
  hostname: string,
  address: (port: number) => string,
) {
  return new Promise<{ server: Server; address: string }>((resolve) => {
    const server = serve({ fetch, port, hostname }, (info) => resolve({ server, address: address(info.port) })) as Server;
    answerClientErrors(server);
  });
}

/**
 * The API side of a process (ROLE=api or all): the public listener (the API, the review page, the
 * docs, the operator surface) and the internal one (HuleEdu services' doors, no credentials).
 */
export async function startApiSide({ config, secrets, service, timers, kafka, metrics, logger, log, streams, draining }: ApiSideDeps) {
  const app = createHttpApp(service, {
    auth: { ...secrets, maxTokenLifetimeSeconds: config.jwtMaxLifetimeSeconds },
    draining,
    log: (message, fields) => log('error', message, fields),
    readiness: { database: service.databaseAnswers, ...(timers ? { redis: queueAnswers(timers.queue) } : {}), ...kafka?.readiness },
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
  const wildcardOrLoopback = ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(config.host);
  const host = wildcardOrLoopback ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const publicListener = await listen(app.fetch, config.port, config.host, (port) => `http://${host}:${port}`);
  const internal = createInternalApp(service, { log: (message, fields) => log('error', message, fields) });
  const internalHost = config.internalHost.includes(':') ? `[${config.internalHost}]` : config.internalHost;
  const internalListener = await listen(
    internal.fetch,
    config.internalPort,
    config.internalHost,
    (port) => `http://${internalHost}:${port}`,
  );
  const address = publicListener.address;
  const internalAddress = internalListener.address;

  return {
    address,
    internalAddress,
    /** Where to find what, for the person who ran `npm start`; with the development credentials when there are no real ones. */
    async banner(): Promise<void> {
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
    },
    /** Stops accepting connections and lets in-flight requests finish; idle keep-alive connections close now. */
    close: (): Promise<void[]> =>
      Promise.all(
        [publicListener.server, internalListener.server].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        ),
      ),
  };
}

export type ApiSide = Awaited<ReturnType<typeof startApiSide>>;
