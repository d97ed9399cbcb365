import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The caller's X-Correlation-ID when it is a UUID, else a new one; the request carries it and the answer names it. */
export const correlationId: MiddlewareHandler<{ Variables: { correlationId: string } }> = async (c, next) => {
  const given = c.req.header('x-correlation-id');
  c.set('correlationId', given && UUID.test(given) ? given : randomUUID());
  await next();
  c.header('x-correlation-id', c.get('correlationId'));
};
