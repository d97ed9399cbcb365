import { Hono } from 'hono';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { OutboxQuery } from '../schemas.ts';
import { parseValue } from '../validate.ts';

export function outboxRoutes(service: Service) {
  return new Hono<AuthEnv>().get('/v1/outbox', requireCaller('service'), async (c) => {
    const query = parseValue(c, OutboxQuery, c.req.query(), 'query');
    if (!query.ok) return query.response;
    return c.json(await service.outbox(query.data.after, query.data.limit));
  });
}
