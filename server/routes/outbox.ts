import { OpenAPIHono } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented, queryRoute } from '../documented.ts';
import { OutboxPage } from '../openapi-schemas.ts';
import { OutboxQuery } from '../schemas.ts';
import { parseQuery } from '../validate.ts';

const outboxRoute = queryRoute({
  path: '/v1/outbox',
  tags: ['Outbound events'],
  summary: 'Read the outbound event feed',
  description:
    'Events this service emitted, in commit order, each written in the same transaction as the state change that caused it. Page with `after` = the previous `next_after`.',
  security: asService,
  query: OutboxQuery,
  ok: answer('A page of the feed.', OutboxPage),
});

export function outboxRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, outboxRoute, requireCaller('service'), async (c) => {
    const query = parseQuery(c, OutboxQuery);
    if (!query.ok) return query.response;
    return c.json(await service.outbox(query.data.after, query.data.limit));
  });
  return app;
}
