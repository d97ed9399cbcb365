import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Service } from '../app/service.ts';
import { loggableError } from '../ops/loggable-error.ts';
import { classServiceRoutes } from './internal/class-service.ts';
import { type InternalEnv, gatewayIdentity, gatewayTeacher, plainJsonProblems } from './internal/identity.ts';
import { batchRoutes } from './routes/batches.ts';
import { classRoutes } from './routes/classes.ts';
import { studentRoutes } from './routes/students.ts';
import { orchestratorRoutes } from './internal/orchestrator.ts';
import { BODY_TOO_LARGE_DETAIL, MAX_BODY_BYTES, PROBLEM_KINDS, problem } from './problem.ts';
import { correlationId } from './correlation.ts';

export interface InternalHttpOptions {
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The internal listener: the doors the real HuleEdu services call on the orchestrator and the class
 * service (File Service's pipeline-state check, the gateway's registration and preflight, the NLP
 * matcher's roster read). They send no credential, so this app is served on its own port and bind
 * address (INTERNAL_PORT, INTERNAL_HOST), never on the public one. The teacher API is here too, for
 * the callers behind the gateway, who name the teacher with X-User-ID instead of a JWT.
 */
export function createInternalApp(service: Service, options: InternalHttpOptions = {}) {
  const app = new OpenAPIHono<InternalEnv>();
  app.use('*', plainJsonProblems);
  app.use('*', correlationId);
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, { status: 413, title: PROBLEM_KINDS[413].title, detail: BODY_TOO_LARGE_DETAIL }),
    }),
  );
  app.use('*', gatewayIdentity);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.route('/', orchestratorRoutes(service));
  // The NLP matcher's roster read sends no identity at all; it is routed before the teacher check.
  app.route('/', classServiceRoutes(service));
  // Behind the gateway: the teacher API with the teacher named by X-User-ID.
  app.use('/v1/*', gatewayTeacher);
  app.route('/', studentRoutes(service));
  app.route('/', classRoutes(service));
  app.route('/', batchRoutes(service));
  app.notFound((c) => problem(c, { status: 404, title: 'Not found', detail: `No internal route ${c.req.method} ${c.req.path}.` }));
  app.onError((error, c) => {
    options.log?.('internal request failed', { ...loggableError(error), path: c.req.path });
    return problem(c, { status: 500, title: 'Internal error', detail: 'The request failed on our side; it has been logged.' });
  });
  return app;
}
