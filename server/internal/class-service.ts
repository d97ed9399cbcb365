import { OpenAPIHono } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import type { InternalEnv } from './identity.ts';

/** The class service's internal doors (the NLP matcher's roster read, later phases' student names). */
export function classServiceRoutes(_service: Service) {
  return new OpenAPIHono<InternalEnv>();
}
