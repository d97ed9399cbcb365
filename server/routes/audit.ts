import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented } from '../documented.ts';
import { callerErrors, problems } from '../openapi-problems.ts';
import { AuditReport } from '../openapi/index.ts';
import { notFound } from '../problem.ts';
import { BatchParams } from '../schemas.ts';
import { parseValue } from '../validate.ts';

const auditRoute = createRoute({
  method: 'get',
  path: '/v1/operations/batches/{batch_id}/audit',
  tags: ['Operations'],
  summary: "Replay a batch's history and check it reproduces what is stored",
  description: [
    "Replays the batch's history through the machines from its registration, each event at the time it was applied, and compares what the replay writes with what is stored: every history row, the outbox rows in order, the batch snapshot and projection row, each association's row and snapshot.",
    '`reproduced`: all of it matches. `diverged`: `first_divergence` names the first history row where the replay and the store part, and `differences` say what differs (expected: the replay; stored: the database). `unverifiable`: the history has rows from before the service kept what each event gave the machine, so nothing is claimed.',
    'Outbox event ids (fresh per write) and trace context are left out of the comparison. The same report as `npm run audit -- --batch <id>`.',
  ].join('\n\n'),
  security: asService,
  request: { params: BatchParams },
  responses: {
    200: answer('The audit report (200 whatever the result; `ok` says whether it reproduced).', AuditReport),
    ...problems([400, ...callerErrors, 404]),
  },
});

export function auditRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, auditRoute, requireCaller('service'), async (c) => {
    const params = parseValue(c, BatchParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const report = await service.auditBatch(params.data.batch_id);
    return report ? c.json(report) : notFound(c, `Batch ${params.data.batch_id}`);
  });
  return app;
}
