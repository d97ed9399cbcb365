import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented, jsonBody } from '../documented.ts';
import { problems } from '../openapi-problems.ts';
import { RetentionReport } from '../openapi/index.ts';
import { problem } from '../problem.ts';
import { parseJsonBody } from '../validate.ts';

export const RetentionBody = z
  .strictObject({
    dry_run: z.boolean().optional().openapi({ description: 'Answer the report of what a purge would change, and change nothing.' }),
    retention_days: z
      .number()
      .int()
      .min(1)
      .max(36_500)
      .optional()
      .openapi({ description: 'The period for this pass; `RETENTION_DAYS` when absent (409 when that is not set either).' }),
    limit: z.number().int().min(1).max(1000).optional().openapi({ description: 'At most this many batches (default 100).' }),
  })
  .openapi('RetentionRequest');

const purgeRoute = createRoute({
  method: 'post',
  path: '/v1/operations/retention/purge',
  tags: ['Operations'],
  summary: "Erase finished batches' personal data",
  description:
    'One retention pass, as the scheduled job runs it: every finished batch (a final state, or ready with its pipeline ended) unchanged for the retention period loses its student names, e-mails, file names and free-text reasons in every row of the batch, one transaction per batch; the decision trail (student ids, who decided, when, states, confidence) stays. Each purged batch gets a `RETENTION_PURGED` history row. A batch already purged is not purged again. See docs/operations.md#retention.',
  security: asService,
  request: { body: jsonBody(RetentionBody, { dry_run: true }) },
  responses: {
    200: answer('What was purged (or, with `dry_run`, would be).', RetentionReport),
    ...problems([400, 401, 403, 409, 413, 415]),
  },
});

/** The operators' retention door: the service token only. */
export function retentionRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, purgeRoute, requireCaller('service'), async (c) => {
    const body = await parseJsonBody(c, RetentionBody);
    if (!body.ok) return body.response;
    const report = await service.purgeExpired({
      ...(body.data.dry_run === undefined ? {} : { dryRun: body.data.dry_run }),
      ...(body.data.retention_days === undefined ? {} : { retentionDays: body.data.retention_days }),
      ...(body.data.limit === undefined ? {} : { limit: body.data.limit }),
    });
    if (report === null) {
      return problem(c, {
        status: 409,
        title: 'Retention is off',
        detail: 'RETENTION_DAYS is not set: name the period with retention_days.',
      });
    }
    return c.json(report);
  });
  return app;
}
