import { OpenAPIHono } from '@hono/zod-openapi';
import type { IncomingMessage } from 'node:http';
import type { Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Service } from '../app/service.ts';
import { databaseUnreachable } from '../app/write-errors.ts';
import { loggableError } from '../ops/loggable-error.ts';
import { mountApiDocs } from './api-docs.ts';
import { type AuthConfig, type AuthEnv, authenticate } from './auth.ts';
import { BODY_TOO_LARGE_DETAIL, MAX_BODY_BYTES, PROBLEM_KINDS, problem } from './problem.ts';

export { MAX_BODY_BYTES } from './problem.ts';
import { batchRoutes } from './routes/batches.ts';
import { classRoutes } from './routes/classes.ts';
import { calendarRoutes } from './routes/calendars.ts';
import { classPauseRoutes } from './routes/class-pauses.ts';
import { studentRoutes } from './routes/students.ts';
import { eventRoutes } from './routes/events.ts';
import { outboxRoutes } from './routes/outbox.ts';
import { visualizationRoutes } from './routes/visualizations.ts';
import type { BatchStreams } from '../app/stream.ts';
import { auditRoutes } from './routes/audit.ts';
import { type ReviewOptions, operatorRoutes, reviewPages } from './routes/review.ts';
import { streamRoutes } from './routes/stream.ts';
import { retentionRoutes } from './routes/retention.ts';
import { databaseUnavailable } from './unavailable.ts';
import { lingerOnClose } from './linger.ts';
import { correlationId } from './correlation.ts';

const DEFAULT_STUCK_AFTER_MS = 3_600_000;

export interface HttpOptions {
  auth: AuthConfig;
  /** True once SIGTERM arrived: readiness fails so load balancers stop sending. */
  draining?: () => boolean;
  log?: (message: string, fields: Record<string, unknown>) => void;
  /**
   * What must answer before this instance takes traffic, by name and in order (the database, then
   * Redis, as runtime.ts injects them); a rejection answers 503 naming it.
   */
  readiness?: Record<string, () => Promise<unknown>>;
  /** The operator surface (request logs, /metrics, /admin/queues), mounted before every route. */
  operations?: (app: Hono<AuthEnv>) => void;
  /** Live batch streams; the runtime passes its own so shutdown can end them. */
  streams?: BatchStreams;
  /** The review page: development teachers and what counts as stuck. */
  review?: Partial<Pick<ReviewOptions, 'developmentTeachers' | 'stuckAfterMs'>>;
}

/**
 * An answer given before the body was read (401, 403, 404, 413, 415, a bad path parameter) leaves
 * the rest of the body on a kept-alive socket. @hono/node-server then drains it for a while and
 * destroys the socket, under a client that is already reusing it. Saying `Connection: close`
 * makes the client open a fresh connection for its next request instead.
 */
const closeWhenBodyUnread: MiddlewareHandler = async (c, next) => {
  await next();
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  const hasBody = Number(incoming?.headers['content-length'] ?? 0) > 0 || incoming?.headers['transfer-encoding'] !== undefined;
  if (incoming && hasBody && !incoming.readableEnded) {
    c.header('connection', 'close');
    lingerOnClose(incoming);
  }
};

/** The HTTP adapter: parse, call the application layer, map the result. No SQL and no rules here. */
export function createHttpApp(service: Service, options: HttpOptions) {
  const app = new OpenAPIHono<AuthEnv>();

  app.use('*', closeWhenBodyUnread);
  app.use('*', correlationId);
  options.operations?.(app);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (options.draining?.()) return problem(c, { status: 503, title: 'Draining', detail: 'The service is shutting down.' });
    for (const [name, check] of Object.entries(options.readiness ?? {})) {
      try {
        await check();
      } catch (error) {
        return problem(c, { status: 503, title: 'Not ready', detail: `${name}: ${(error as Error).message}` });
      }
    }
    return c.json({ status: 'ready' });
  });
  app.route('/', visualizationRoutes());
  const stuckAfterMs = options.review?.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  const review: ReviewOptions = {
    ...options.review,
    stuckAfterMs,
    operatorNumbers: () => service.operatorNumbers(stuckAfterMs),
  };
  app.route('/', reviewPages(review));

  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, { status: 413, title: PROBLEM_KINDS[413].title, detail: BODY_TOO_LARGE_DETAIL }),
    }),
  );
  app.use('/v1/*', authenticate(options.auth));
  app.route('/', eventRoutes(service));
  app.route('/', studentRoutes(service));
  app.route('/', classRoutes(service));
  app.route('/', calendarRoutes(service));
  app.route('/', batchRoutes(service));
  app.route('/', outboxRoutes(service));
  app.route('/', streamRoutes(service, options.streams ?? service.openBatchStreams(500)));
  app.route('/', operatorRoutes(review));
  app.route('/', auditRoutes(service));
  app.route('/', retentionRoutes(service));
  app.route('/', classPauseRoutes(service));
  mountApiDocs(app);

  app.notFound((c) => problem(c, { status: 404, title: 'Not found', detail: `No route ${c.req.method} ${c.req.path}.` }));
  app.onError((error, c) => {
    if (databaseUnreachable(error)) {
      options.log?.('database unreachable', { ...loggableError(error), path: c.req.path });
      return databaseUnavailable(c);
    }
    options.log?.('request failed', { ...loggableError(error), path: c.req.path });
    return problem(c, { status: 500, title: 'Internal error', detail: 'The request failed on our side; it has been logged.' });
  });
  return app;
}
