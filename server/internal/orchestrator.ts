import { OpenAPIHono } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import type { InternalEnv } from './identity.ts';

/** The orchestrator's doors: registration, prompt amendment, pipeline state and preflight. */
export function orchestratorRoutes(_service: Service) {
  return new OpenAPIHono<InternalEnv>();
}
