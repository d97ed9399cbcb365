import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Service } from '../../app/service.ts';
import { notFound } from '../problem.ts';
import { parseValue } from '../validate.ts';
import type { InternalEnv } from './identity.ts';

const ClassParam = z.object({ class_id: z.uuid() });
const BatchParam = z.object({ batch_id: z.uuid() });
const EssayParam = z.object({ essay_id: z.uuid() });

/**
 * The class service's internal doors, in the real shapes: the NLP matcher's roster read
 * (`roster_client_impl.py`, unauthenticated) and the student names later phases ask for
 * (`api/internal_routes.py`), answered from this service's roster and association rows.
 */
export function classServiceRoutes(service: Service) {
  const app = new OpenAPIHono<InternalEnv>();
  app.get('/v1/classes/:class_id/roster', async (c) => {
    const params = parseValue(c, ClassParam, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const students = await service.matcherRoster(params.data.class_id);
    if (students === null) return notFound(c, `Class ${params.data.class_id}`);
    return c.json({ students });
  });
  app.get('/internal/v1/batches/:batch_id/student-names', async (c) => {
    const params = parseValue(c, BatchParam, c.req.param(), 'params');
    if (!params.ok) return params.response;
    return c.json(await service.batchStudentNames(params.data.batch_id));
  });
  app.get('/internal/v1/associations/essay/:essay_id', async (c) => {
    const params = parseValue(c, EssayParam, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const found = await service.essayStudent(params.data.essay_id);
    if (found === null) return notFound(c, `A student association of essay ${params.data.essay_id}`);
    return c.json(found);
  });
  return app;
}
